"""The files of an untrusted competition bundle: found, bounded and read as text, never extracted.

The zip goes through the project's bounded reader (app/scoring/archive.py): declared sizes are
checked before a byte is inflated and no entry inflates past its own. Archives inside the
bundle (a CodaLab bundle's `scoring_program.zip`, `reference_data_dev.zip`) are listed, so
competition.yaml may name them, but never opened.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Any

import yaml

from app.core.errors import Invalid
from app.scoring.archive import Limits, ZipReader
from app.scoring.problems import Problem

# MICO's bundle is about 1 MB and MIDST's a few; a bundle may also carry starting kits and
# public data, which are never read: only competition.yaml and the pages are inflated.
BUNDLE_LIMITS = Limits(
    max_zip_bytes=200 * 1024 * 1024,
    max_entries=20_000,
    max_file_bytes=1024 * 1024,  # a page; MICO's largest is 9 KB
    max_total_bytes=2 * 1024 * 1024 * 1024,
)
MAX_YAML_BYTES = 256 * 1024  # MICO's competition.yaml is 6 KB, MIDST's 2 KB
MAX_REFERENCE_BYTES = 64 * 1024 * 1024  # MICO's reference data: 30,000 labels, about 120 KB
YAML_NAMES = ("competition.yaml", "competition.yml")


class BundleRefused(Invalid):
    """A bundle that cannot be imported; `problems` name each file and its fault."""

    def __init__(self, name: str, problems: list[Problem]) -> None:
        self.problems = problems
        lines = [str(p) for p in problems]
        super().__init__(
            f"{name} cannot be imported; nothing was stored:\n" + "\n".join(lines), errors=lines
        )


@dataclass
class BundleFiles:
    """The members of a bundle, by path relative to the folder holding competition.yaml."""

    name: str
    root: str  # "" or the one enclosing folder, e.g. "midst_blackbox_single_table/"
    yaml_name: str
    files: dict[str, zipfile.ZipInfo]
    archives: set[str]
    reader: ZipReader
    data: bytes

    @classmethod
    def open(cls, data: bytes, name: str, limits: Limits) -> BundleFiles:
        """The bundle's files; BundleRefused for a damaged, oversized or hostile zip."""
        reader, problems = ZipReader.open(data, name, limits)
        if reader is None:
            raise BundleRefused(name, problems)
        files: dict[str, zipfile.ZipInfo] = {}
        archives: set[str] = set()
        for member in reader.members():
            # members() rules out two kinds of name: paths that escape the archive (hostile,
            # refused) and archives inside the archive (a bundle's parts, listed).
            if isinstance(member, Problem):
                if _escapes(member.path):
                    problems.append(member)
                else:
                    archives.add(member.path)
            else:
                files[member[0]] = member[1]
        if problems:
            raise BundleRefused(name, problems)
        root, yaml_name = _root(name, list(files))
        return cls(
            name,
            root,
            yaml_name,
            {p[len(root) :]: i for p, i in files.items() if p.startswith(root)},
            {p[len(root) :] for p in archives if p.startswith(root)},
            reader,
            data,
        )

    def shown(self, path: str) -> str:
        """A path as the organizer sees it in their zip (with its enclosing folder)."""
        return self.root + path

    def has(self, path: str) -> bool:
        """True for a file, a listed archive or a folder of the bundle."""
        folder = path.rstrip("/") + "/"
        return (
            path in self.files
            or path in self.archives
            or any(p.startswith(folder) for p in (*self.files, *self.archives))
        )

    def top_level(self) -> list[str]:
        """The names at the bundle's top, for a hint when a named file is missing."""
        return sorted({p.split("/")[0] for p in (*self.files, *self.archives)})

    def text(self, path: str, limit: int) -> str | Problem:
        """A member's text (UTF-8, a BOM allowed), or the Problem that stops reading it."""
        info = self.files.get(path)
        if info is None:
            return Problem(self.shown(path), "is a folder or an archive, not a text file")
        if info.file_size > limit:
            return Problem(
                self.shown(path),
                f"is {info.file_size:,} bytes inflated, over the {limit:,} allowed (a zip bomb?)",
            )
        content = self.reader.read(self.shown(path), info)
        if isinstance(content, Problem):
            return content
        try:
            return content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return Problem(
                self.shown(path), f"is not UTF-8 text (byte {exc.start}); save it as UTF-8"
            )

    def part(self, path: str, limit: int) -> bytes:
        """A part competition.yaml names (reference data) as one zip: an archive inside the
        bundle as it is, a folder zipped afresh with paths relative to it."""
        path = path.strip().removeprefix("./")
        if path in self.archives:
            return self._archive(path, limit)
        folder = path.rstrip("/") + "/"
        members = {p[len(folder) :]: i for p, i in self.files.items() if p.startswith(folder)}
        if not members:
            message = "is not in the bundle (a dataset kept on the server?); upload it instead"
            raise BundleRefused(self.name, [Problem(self.shown(path), message)])
        declared = sum(i.file_size for i in members.values())
        if declared > limit:
            message = f"holds {declared:,} bytes inflated, over the {limit:,} allowed"
            raise BundleRefused(self.name, [Problem(self.shown(path), message)])
        out = io.BytesIO()
        problems = []
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for relative, info in members.items():
                content = self.reader.read(self.shown(folder + relative), info)
                if isinstance(content, Problem):
                    problems.append(content)
                else:
                    zf.writestr(relative, content)
        if problems:
            raise BundleRefused(self.name, problems)
        return out.getvalue()

    def _archive(self, path: str, limit: int) -> bytes:
        """An archive's bytes, read within `limit` with every check of a member."""
        try:
            info = zipfile.ZipFile(io.BytesIO(self.data)).getinfo(self.shown(path))
        except KeyError:
            message = "has a name that cannot be read back; rename it"
            raise BundleRefused(self.name, [Problem(self.shown(path), message)]) from None
        if info.file_size > limit:
            message = f"is {info.file_size:,} bytes inflated, over the {limit:,} allowed"
            raise BundleRefused(self.name, [Problem(self.shown(path), message)])
        content = self.reader.read(self.shown(path), info)
        if isinstance(content, Problem):
            raise BundleRefused(self.name, [content])
        return content

    def load_yaml(self) -> dict[Any, Any]:
        """competition.yaml as plain data: safe_load builds no object, whatever tags it has."""
        where = self.shown(self.yaml_name)
        text = self.text(self.yaml_name, MAX_YAML_BYTES)
        if isinstance(text, Problem):
            raise BundleRefused(self.name, [text])
        try:
            data = yaml.safe_load(text)
        except yaml.constructor.ConstructorError as exc:
            if "constructor for the tag" in str(exc.problem):
                raise BundleRefused(self.name, [Problem(where, _tag_fault(exc))]) from None
            raise BundleRefused(self.name, [Problem(where, _yaml_fault(exc))]) from None
        except yaml.YAMLError as exc:
            raise BundleRefused(self.name, [Problem(where, _yaml_fault(exc))]) from None
        except RecursionError:
            message = "nests too deeply to be a competition definition"
            raise BundleRefused(self.name, [Problem(where, message)]) from None
        if not isinstance(data, dict):
            message = "must hold key: value lines (title:, phases:, ...) at its top"
            raise BundleRefused(self.name, [Problem(where, message)])
        return data


def _yaml_fault(exc: yaml.YAMLError) -> str:
    """Where and why the YAML does not parse, as PyYAML found it."""
    mark = getattr(exc, "problem_mark", None)
    line = f"line {mark.line + 1}: " if mark else ""
    problem = getattr(exc, "problem", None) or "unreadable"
    return f"{line}is not valid YAML ({problem}); check its indentation and quotes"


def _tag_fault(exc: yaml.constructor.ConstructorError) -> str:
    """Why a tag was refused: safe_load constructs no Python object, and neither does the import."""
    line = f"line {exc.problem_mark.line + 1}: " if exc.problem_mark else ""
    problem = str(exc.problem or "")
    tag = problem.split("tag ", 1)[-1].strip("'") if "tag" in problem else "a tag"
    tag = tag.replace("tag:yaml.org,2002:", "!!")
    return (
        f"{line}uses the YAML tag {tag}, which builds program objects; a competition.yaml holds "
        "plain values only: remove the tag"
    )


def _escapes(path: str) -> bool:
    """True for a path that leaves the archive (absolute, a drive letter or `..`)."""
    return path.startswith("/") or path[1:2] == ":" or "/../" in f"/{path}/"


def _root(name: str, paths: list[str]) -> tuple[str, str]:
    """Where competition.yaml is: at the top, or in the one folder everything is in.

    `zip -r bundle.zip my_bundle/` adds that folder; it is unambiguous, so it is accepted.
    """
    for yaml_name in YAML_NAMES:
        if yaml_name in paths:
            return "", yaml_name
    found = [p for p in paths if p.rsplit("/", 1)[-1] in YAML_NAMES]
    folders = {p.split("/")[0] for p in paths}
    if len(found) == 1 and found[0].count("/") == 1 and len(folders) == 1:
        folder, yaml_name = found[0].split("/")
        return folder + "/", yaml_name
    if not found:
        message = (
            "holds no competition.yaml; a CodaLab or Codabench bundle has competition.yaml at "
            "its top, next to its pages"
        )
    else:
        where = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
        message = (
            f"has competition.yaml only inside folders ({where}); zip one bundle's own files, "
            "with competition.yaml at the top"
        )
    raise BundleRefused(name, [Problem(name, message)])
