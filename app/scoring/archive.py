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
from pathlib import Path

from app.scoring.problems import InvalidInput, Problem

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_LOCAL_MAGIC = b"PK\x03\x04"
_JUNK_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}
_ARCHIVE_SUFFIXES = (".zip", ".7z", ".rar", ".tar", ".tgz", ".gz", ".bz2", ".xz")
_METHODS = {9: "Deflate64", 12: "bzip2", 14: "LZMA", 93: "Zstandard", 95: "XZ", 98: "PPMd"}
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

    def oversize(self, name: str, size: int) -> Problem | None:
        """The problem of a zip of `size` bytes over the limit, or None (check before reading)."""
        if size <= self.max_zip_bytes:
            return None
        return Problem(name, f"is {_size(size)}, over the limit of {_size(self.max_zip_bytes)}")


def _size(n: int) -> str:
    """Bytes for people: `12.5 KB`, `2.0 MB`."""
    return f"{n / 1024:.1f} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


def read_zip_file(path: Path, limits: Limits) -> bytes:
    """A zip file's bytes from disk, refused by its size before a byte is read."""
    too_big = limits.oversize(path.name, path.stat().st_size)
    if too_big:
        raise InvalidInput([too_big])
    return path.read_bytes()


class ZipReader:
    """Lists the safe members of an untrusted zip and reads them within the limits."""

    def __init__(
        self, data: bytes, limits: Limits, files: list[tuple[str, zipfile.ZipInfo]]
    ) -> None:
        self._data = data
        self._files = files
        self.limits = limits

    @classmethod
    def open(cls, data: bytes, name: str, limits: Limits) -> tuple[ZipReader | None, list[Problem]]:
        """A reader for `data`, or None and why the bytes are no usable zip."""
        if not data:
            return None, [Problem(name, "is an empty file; expected a .zip archive")]
        too_big = limits.oversize(name, len(data))
        if too_big:
            return None, [too_big]
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as exc:
            return None, [Problem(name, _not_a_zip(data, exc))]
        except NotImplementedError as exc:  # e.g. "zip file version 6.4"
            return None, [
                Problem(
                    name,
                    f"uses a zip feature that is not supported ({exc}); "
                    "make the zip with Python's zipfile, zip or 7-Zip",
                )
            ]
        entries = zf.infolist()
        if len(entries) > limits.max_entries:
            message = f"holds {len(entries)} entries, over the limit of {limits.max_entries}"
            return None, [Problem(name, message)]
        files = [(path, i) for i in entries if _is_file(path := _clean(i.filename))]
        declared = sum(i.file_size for _, i in files)
        if declared > limits.max_total_bytes:
            message = (
                f"would inflate to {_size(declared)}, over the limit of "
                f"{_size(limits.max_total_bytes)} (a zip bomb?)"
            )
            return None, [Problem(name, message)]
        return cls(data, limits, files), []

    def members(self) -> Iterator[tuple[str, zipfile.ZipInfo] | Problem]:
        """Each file entry as (clean path, info), or the Problem that rules it out.

        Directories and the litter of file managers (`__MACOSX/`, `.DS_Store`) are skipped.
        """
        for member in self._files:
            fault = _name_fault(member[0])
            yield Problem(member[0], fault) if fault else member

    def read(self, path: str, info: zipfile.ZipInfo) -> bytes | Problem:
        """The bytes of one member, or the Problem that stopped reading it.

        Links and encrypted entries are refused here, not in `members`: the file is where it
        belongs, so the participant hears why it is unreadable, not that it is missing.
        """
        fault = _entry_fault(info)
        if fault:
            return Problem(path, fault)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            # bzip2 and LZMA decompressors in zipfile take no output bound: a lying entry of
            # a few hundred bytes inflates to gigabytes before any check could stop it.
            method = _METHODS.get(info.compress_type, f"method {info.compress_type}")
            return Problem(
                path,
                f"uses {method} compression, which is not accepted; zip with the standard "
                "(deflate) compression or none",
            )
        limit = self.limits.max_file_bytes
        if info.file_size > limit:
            return Problem(
                path,
                f"is {_size(info.file_size)} inflated, over the per-file limit of {_size(limit)}",
            )
        try:
            content = self._inflate(info)
        except (zipfile.BadZipFile, zlib.error) as exc:
            return Problem(path, f"is damaged inside the zip ({exc}); zip the file again")
        # open() bounded the declared sizes; an entry may not inflate past its own.
        if len(content) > info.file_size:
            return Problem(path, "inflates to more bytes than the zip declares (a zip bomb?)")
        if len(content) < info.file_size or zlib.crc32(content) != info.CRC:
            return Problem(
                path, "is damaged inside the zip (size or CRC check failed); zip the file again"
            )
        return content

    def _inflate(self, info: zipfile.ZipInfo) -> bytes:
        """A member's bytes straight from the buffer, never more than declared plus one.

        zipfile's per-member open costs about 30 us, a third of the whole budget for a
        300-file submission; slicing the buffer and one zlib call is a tenth of that.
        """
        header = self._data[info.header_offset : info.header_offset + _LOCAL_HEADER.size]
        if len(header) < _LOCAL_HEADER.size:
            raise zipfile.BadZipFile("truncated local header")
        fields = _LOCAL_HEADER.unpack(header)
        if fields[0] != _LOCAL_MAGIC:
            raise zipfile.BadZipFile("bad local header")
        name_start = info.header_offset + _LOCAL_HEADER.size
        name = _raw_name(info)
        if self._data[name_start : name_start + fields[9]] != name:
            raise zipfile.BadZipFile("its two headers name different files")
        start = name_start + fields[9] + fields[10]
        raw = self._data[start : start + info.compress_size]
        if len(raw) != info.compress_size:
            raise zipfile.BadZipFile("truncated data")
        if info.compress_type == zipfile.ZIP_STORED:
            return raw[: info.file_size + 1]
        return zlib.decompressobj(-zlib.MAX_WBITS).decompress(raw, info.file_size + 1)


def _raw_name(info: zipfile.ZipInfo) -> bytes:
    """The name's bytes as the zip stores them (ASCII first: the cp437 codec costs 1 us)."""
    name = info.orig_filename
    if name.isascii():
        return name.encode("ascii")
    return name.encode("utf-8" if info.flag_bits & 0x800 else "cp437")


def _clean(name: str) -> str:
    """Member name with Windows separators turned into `/` (a name may be empty)."""
    return name.replace("\\", "/") or "(an entry without a name)"


def _is_file(path: str) -> bool:
    """True for a file entry; False for folders and the litter of macOS and Windows."""
    if path.endswith("/"):
        return False
    parts = path.split("/")
    return not ("__MACOSX" in parts or parts[-1] in _JUNK_NAMES or parts[-1].startswith("._"))


def _name_fault(path: str) -> str | None:
    """Why a member's name rules it out before its place is even looked at, or None."""
    if path.startswith("/") or (path[1:2] == ":" and path[:1].isalpha()) or "/../" in f"/{path}/":
        return "has an absolute or '..' path; paths must stay inside the archive"
    if path.lower().endswith(_ARCHIVE_SUFFIXES):
        return "is an archive inside the archive; zip the files themselves instead"
    return None


def _entry_fault(info: zipfile.ZipInfo) -> str | None:
    """Why an entry may not be read, or None."""
    if stat.S_ISLNK(info.external_attr >> 16):
        return "is a symbolic link; zip the file itself (zip -r follows links by default)"
    if info.flag_bits & 0x41:  # traditional (bit 0) or strong (bit 6) encryption
        return "is encrypted; make the zip without a password"
    return None


def _not_a_zip(data: bytes, exc: Exception) -> str:
    """Explain why bytes are not a zip, naming the format when it is a known other one."""
    for magic, kind in _MAGIC.items():
        if data.startswith(magic):
            return f"is {kind}, not a zip; make a .zip archive instead"
    if data.startswith(b"PK"):
        return f"is a damaged zip archive ({exc}); make the zip again"
    return "is not a zip archive; make a .zip of the csv files"
