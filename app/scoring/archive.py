"""Reading files out of an untrusted zip, with every limit checked on purpose.

Nothing is extracted to disk. Sizes are checked twice: the sizes the zip declares before any
byte is inflated, and the bytes actually inflated (bounded to the declared size plus one, so a
zip that lies about its sizes fails its check instead of filling memory).
"""

from __future__ import annotations

import io
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from app.scoring.problems import Problem

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_MAGIC = b"PK\x03\x04"
_JUNK_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}
_ARCHIVE_SUFFIXES = (".zip", ".7z", ".rar", ".tar", ".tgz", ".gz", ".bz2", ".xz")
_MAGIC = {
    b"Rar!": "a RAR archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"\x1f\x8b": "a gzip file",
    b"BZh": "a bzip2 file",
    b"\xfd7zXZ": "an xz file",
}


@dataclass(frozen=True)
class Limits:
    """Bounds on what a zip may hold; a MICO submission is 300 files, about 1.1 MB."""

    max_zip_bytes: int = 2 * 1024 * 1024
    max_entries: int = 5_000
    max_file_bytes: int = 1024 * 1024
    max_total_bytes: int = 64 * 1024 * 1024


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


class ZipReader:
    """Lists the safe members of an untrusted zip and reads them within the limits."""

    def __init__(
        self,
        zf: zipfile.ZipFile,
        data: bytes,
        name: str,
        limits: Limits,
        files: list[tuple[str, zipfile.ZipInfo]],
    ) -> None:
        self._zf = zf
        self._data = data
        self._files = files
        self.name = name
        self.limits = limits
        self._inflated = 0

    @classmethod
    def open(cls, data: bytes, name: str, limits: Limits) -> tuple[ZipReader | None, list[Problem]]:
        """A reader for `data`, or None and why the bytes are no usable zip."""
        if not data:
            return None, [Problem(name, "is an empty file; expected a .zip archive")]
        if len(data) > limits.max_zip_bytes:
            return None, [
                Problem(name, f"is {_mb(len(data))}, over the limit of {_mb(limits.max_zip_bytes)}")
            ]
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as exc:
            return None, [Problem(name, _not_a_zip(data, exc))]
        entries = zf.infolist()
        if len(entries) > limits.max_entries:
            message = f"holds {len(entries)} entries, over the limit of {limits.max_entries}"
            return None, [Problem(name, message)]
        files = [(path, i) for i in entries if _is_file(path := _clean(i.filename))]
        declared = sum(i.file_size for _, i in files)
        if declared > limits.max_total_bytes:
            message = (
                f"would inflate to {_mb(declared)}, over the limit of "
                f"{_mb(limits.max_total_bytes)} (a zip bomb?)"
            )
            return None, [Problem(name, message)]
        return cls(zf, data, name, limits, files), []

    def members(self) -> Iterator[tuple[str, zipfile.ZipInfo] | Problem]:
        """Each file entry as (clean path, info), or the Problem that rules it out.

        Directories and the litter of file managers (`__MACOSX/`, `.DS_Store`) are skipped.
        """
        for path, info in self._files:
            fault = _member_fault(path, info)
            yield Problem(path, fault) if fault else (path, info)

    def read(self, path: str, info: zipfile.ZipInfo) -> bytes | Problem:
        """The bytes of one member, or the Problem that stopped reading it."""
        limit = self.limits.max_file_bytes
        if info.file_size > limit:
            return Problem(
                path, f"is {_mb(info.file_size)} inflated, over the per-file limit of {_mb(limit)}"
            )
        try:
            content = self._read_fast(info)
            if content is None:
                with self._zf.open(info) as member:
                    content = member.read(limit + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            return Problem(path, f"is damaged inside the zip ({exc}); zip the file again")
        except NotImplementedError:
            return Problem(
                path,
                f"uses compression method {info.compress_type}, which is not "
                "supported; use the standard (deflate) compression",
            )
        self._inflated += len(content)
        if len(content) > limit or self._inflated > self.limits.max_total_bytes:
            return Problem(path, "inflates to more bytes than the zip declares (a zip bomb?)")
        return content

    def _read_fast(self, info: zipfile.ZipInfo) -> bytes | None:
        """Stored or deflated member read straight from the buffer; None to use zipfile.

        zipfile's per-member open costs about 30 us, a third of the whole budget for a
        300-file submission; slicing the buffer and one zlib call is a tenth of that.
        """
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            return None
        header = self._data[info.header_offset : info.header_offset + _LOCAL_HEADER.size]
        if len(header) < _LOCAL_HEADER.size:
            raise zipfile.BadZipFile("truncated local header")
        fields = _LOCAL_HEADER.unpack(header)
        if fields[0] != _LOCAL_MAGIC:
            raise zipfile.BadZipFile("bad local header")
        start = info.header_offset + _LOCAL_HEADER.size + fields[9] + fields[10]
        raw = self._data[start : start + info.compress_size]
        if len(raw) != info.compress_size:
            raise zipfile.BadZipFile("truncated data")
        if info.compress_type == zipfile.ZIP_STORED:
            content = raw
        else:
            inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            content = inflater.decompress(raw, info.file_size + 1)
        if len(content) != info.file_size:
            raise zipfile.BadZipFile("size differs from the size declared")
        if zlib.crc32(content) != info.CRC:
            raise zipfile.BadZipFile("CRC check failed")
        return content


def _clean(name: str) -> str:
    """Member name with Windows separators turned into `/`."""
    return name.replace("\\", "/")


def _is_file(path: str) -> bool:
    """True for a file entry; False for folders and the litter of macOS and Windows."""
    if path.endswith("/"):
        return False
    parts = path.split("/")
    return not ("__MACOSX" in parts or parts[-1] in _JUNK_NAMES or parts[-1].startswith("._"))


def _member_fault(path: str, info: zipfile.ZipInfo) -> str | None:
    """Why a member may not be read at all, or None."""
    if path.startswith("/") or (path[1:2] == ":" and path[:1].isalpha()) or "/../" in f"/{path}/":
        return "has an absolute or '..' path; paths must stay inside the archive"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "is a symbolic link; zip the file itself (zip -r follows links by default)"
    if info.flag_bits & 0x1:
        return "is encrypted; make the zip without a password"
    if path.lower().endswith(_ARCHIVE_SUFFIXES):
        return "is an archive inside the archive; zip the files themselves instead"
    return None


def _not_a_zip(data: bytes, exc: Exception) -> str:
    """Explain why bytes are not a zip, naming the format when it is a known other one."""
    for magic, kind in _MAGIC.items():
        if data.startswith(magic):
            return f"is {kind}, not a zip; make a .zip archive instead"
    if data.startswith(b"PK"):
        return f"is a damaged zip archive ({exc}); make the zip again"
    return "is not a zip archive; upload a .zip of your prediction.csv files"
