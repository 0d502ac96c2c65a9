"""Loading a labelled image dataset: ImageFolder directories, CSV manifests, pkg://.

Everything downstream sees only `Dataset` (glov.data.dataset).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from glov.config import DataConfig
from glov.data.catalogue import read_catalogued
from glov.data.dataset import IMAGE_EXTENSIONS, Dataset
from glov.data.labelled import (
    LabelledImages,
    class_order,
    images_under,
    readable_name,
    subfolders,
)
from glov.data.packaged import materialise
from glov.errors import DataError
from glov.file_syntax import decode_utf8, parse_yaml, position, text_position

METADATA_FILE = "dataset.yaml"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$")


def _read_metadata(root: Path, keys: list[str]) -> dict[str, Any]:
    path = root / METADATA_FILE
    if not path.is_file():
        return {}
    fix = f"fix {path}: it takes name: <text>, description: <text>, classnames: {{folder: name}}"
    text = decode_utf8(path.read_bytes(), str(path), "save it as UTF-8 text", DataError)
    meta = parse_yaml(text, str(path), fix, DataError) or {}
    if not isinstance(meta, dict):
        raise DataError(f"{path} must hold a mapping at the top level", fix)
    for key in ("name", "description"):
        if meta.get(key) is not None and not isinstance(meta[key], str):
            raise DataError(f"{path}: {key!r} must be text, got {meta[key]!r}", fix)
    names = meta.get("classnames")
    if names is not None:
        if not isinstance(names, dict):
            raise DataError(f"{path}: 'classnames' must map folder names to readable names", fix)
        unknown = sorted(str(k) for k in names if str(k) not in keys)
        if unknown:
            raise DataError(
                f"{path}: classnames names folders that do not exist: {', '.join(unknown)}",
                f"use folder names from: {', '.join(keys)}",
            )
        meta["classnames"] = {str(k): str(v) for k, v in names.items()}
    return meta


def _scan_image_folder(root: Path) -> LabelledImages:
    found_dirs = subfolders(root)
    folders = [found_dirs[name] for name in class_order(found_dirs)]
    if not folders:
        raise DataError(
            f"dataset directory {root} has no class folders",
            "put each class's images in its own subfolder (ImageFolder layout: "
            f"{root}/<class>/<image>.png) or point data.uri at a CSV manifest",
        )
    keys = [d.name for d in folders]
    paths: list[str] = []
    labels: list[int] = []
    empty: list[str] = []
    for label, folder in enumerate(folders):
        found = images_under(folder)
        if not found:
            empty.append(folder.name)
        paths.extend(found)
        labels.extend([label] * len(found))
    if empty:
        raise DataError(
            f"class folder(s) {', '.join(empty)} in {root} hold no images "
            f"(extensions: {', '.join(sorted(IMAGE_EXTENSIONS))})",
            "add images to those folders or remove them",
        )
    meta = _read_metadata(root, keys)
    mapped = meta.get("classnames") or {}
    return LabelledImages(
        name=meta.get("name") or root.name,
        description=meta.get("description"),
        keys=keys,
        readable=[mapped.get(k, readable_name(k)) for k in keys],
        paths=paths,
        labels=labels,
    )


def _cell_column(raw: str, cells: list[str], index: int) -> int | None:
    """1-based column where cell `index` starts on its raw line (None if quoting hides it)."""
    if '"' in raw or index >= len(cells):
        return None
    return sum(len(c) + 1 for c in cells[:index]) + 1


def _read_csv_rows(path: Path, fix: str) -> tuple[list[str], list[tuple[int, list[str]]], str]:
    """The header's cells, (line, cells) per row and the text; a syntax error names its line."""
    text = decode_utf8(path.read_bytes(), str(path), "save the manifest as UTF-8 text", DataError)
    text = text.removeprefix("\ufeff")
    if "\x00" in text:  # the csv module reads it as a character of a cell
        line, column = text_position(text, text.index("\x00"))
        raise DataError(
            f"{position(str(path), line, column)}: invalid CSV: a NUL character (the file is "
            "binary or damaged)",
            fix,
        )
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            rows.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as exc:
        # strict: an unclosed quote runs to the end of the file; name where the row began.
        raise DataError(
            f"{position(str(path), start)}: invalid CSV: {exc} (in the row that starts here)",
            'close every quote; a cell holding a comma or a quote is written "a,b" or "a""b"',
        ) from None
    if not rows:
        raise DataError(f"{position(str(path), 1, 1)}: the CSV manifest is empty", fix)
    return [c.strip() for c in rows[0][1]], rows[1:], text


def _scan_csv(path: Path) -> LabelledImages:
    fix = f"give {path} a header line `path,label` and one `<image path>,<class name>` per row"
    columns, rows, text = _read_csv_rows(path, fix)
    missing = [c for c in ("path", "label") if c not in columns]
    if missing:
        raise DataError(
            f"{position(str(path), 1, 1)}: the CSV header lacks column(s) {', '.join(missing)} "
            f"(header: {', '.join(columns) or 'empty'})",
            fix,
        )
    lines = text.splitlines()
    at = {name: columns.index(name) for name in ("path", "label")}
    items: list[tuple[str, str]] = []
    first_seen: dict[str, int] = {}  # resolved image path -> its first line
    for line, cells in rows:
        # Extra cells beyond the header are ignored; missing ones read as empty.
        image, label = (cells[at[k]].strip() if at[k] < len(cells) else "" for k in at)
        raw = lines[line - 1] if line <= len(lines) else ""
        where = {k: position(str(path), line, _cell_column(raw, cells, i)) for k, i in at.items()}
        if not image and not label:
            continue  # blank line
        if not image or not label:
            empty = "path" if not image else "label"
            raise DataError(f"{where[empty]}: the {empty} cell is empty", fix)
        full = Path(image).expanduser()
        if not full.is_absolute():
            full = path.parent / full  # relative to the manifest, not the working dir
        if not full.is_file():
            raise DataError(
                f"{where['path']}: image {image!r} does not exist (looked at {full})",
                "fix the path (relative paths are relative to the CSV's folder) or drop the row",
            )
        same = str(full.resolve())
        if same in first_seen:
            # A repeated image would be split twice: fitness and test could share it.
            raise DataError(
                f"{where['path']}: image {image!r} is already listed on line {first_seen[same]}",
                "list every image once (with one label); remove the repeated rows",
            )
        first_seen[same] = line
        items.append((str(full.absolute()), label))
    keys = class_order({label for _, label in items})
    index = {k: i for i, k in enumerate(keys)}
    return LabelledImages(
        name=path.stem,
        description=None,
        keys=keys,
        readable=[readable_name(k) for k in keys],
        paths=[p for p, _ in items],
        labels=[index[label] for _, label in items],
    )


def _resolve(uri: str, cache_dir: str | Path) -> Path:
    """Turn data.uri into a local directory or CSV file."""
    match = _SCHEME.match(uri)
    if match:
        scheme, rest = match.group(1).lower(), match.group(2)
        if scheme == "pkg":
            return materialise(rest.strip("/"), cache_dir)
        if scheme == "file":
            uri = rest
        elif scheme == "s3":
            raise DataError(
                f"data.uri {uri!r} is an object-store URI, which the store layer resolves",
                "download it to a local folder first (the pipeline's data step does this) "
                "and point data.uri at that folder",
            )
        else:
            raise DataError(
                f"data.uri {uri!r} has an unsupported scheme {scheme!r}://",
                "use a local directory, a .csv manifest, pkg://animal-mnist or s3://",
            )
    path = Path(uri).expanduser()
    if not path.exists():
        raise DataError(
            f"dataset {path} does not exist",
            "set data.uri to an ImageFolder directory, a .csv manifest or pkg://animal-mnist",
        )
    if path.is_file() and path.suffix.lower() != ".csv":
        raise DataError(
            f"dataset {path} is a file but not a .csv manifest",
            "point data.uri at an ImageFolder directory or a .csv manifest (path,label)",
        )
    return path


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


def _check_classnames(names: list[str], origin: str) -> None:
    blank = [i for i, n in enumerate(names) if not n.strip()]
    if blank:
        raise DataError(
            f"class name at position(s) {', '.join(map(str, blank))} ({origin}) is empty",
            "give every class a non-empty readable name",
        )
    seen: dict[str, str] = {}
    for name in names:
        if _norm(name) in seen:
            raise DataError(
                f"class names {seen[_norm(name)]!r} and {name!r} ({origin}) are the same "
                "ignoring case and spacing; the VLM could not tell them apart",
                "give each class a distinct name (data.classnames or dataset.yaml classnames)",
            )
        seen[_norm(name)] = name


def _check_positions(given: list[str], src: LabelledImages) -> None:
    """Refuse data.classnames that name a class at another position than its own.

    Names apply by position; "cat" given first for labels (dog, cat) would name
    the dog images "cat", a silent swap the VLM then scores as truth.
    """
    where = {}
    for i, (key, readable) in enumerate(zip(src.keys, src.readable, strict=True)):
        where.setdefault(_norm(key), i)
        where.setdefault(_norm(readable), i)
    for i, name in enumerate(given):
        at = where.get(_norm(name))
        if at is not None and at != i:
            raise DataError(
                f"data.classnames[{i}] is {name!r}, but that names class {src.keys[at]!r}, "
                f"which is number {at} in the dataset's class order "
                f"({', '.join(src.keys)}); names are applied by position",
                "list data.classnames in that order, or drop data.classnames to use the "
                "dataset's own names",
            )


def default_description(classnames: list[str]) -> str:
    shown = ", ".join(classnames[:5])
    more = ", among others" if len(classnames) > 5 else ""
    return f"An image classification dataset of {len(classnames)} categories: {shown}{more}."


def load_dataset(cfg: DataConfig, cache_dir: str | Path) -> Dataset:
    """Load `cfg.uri` (ImageFolder dir, CSV manifest or pkg://NAME) as a Dataset.

    With `cfg.dataset` the folder is read in that catalogue dataset's published
    layout (glov.data.catalogue). `cfg.name`, `cfg.description` and
    `cfg.classnames` override what the source says; `cfg.max_classes` keeps the
    first N classes in class order.
    """
    path = _resolve(cfg.uri, cache_dir)
    if cfg.dataset is not None:
        src = read_catalogued(cfg.dataset, path)
    else:
        src = _scan_image_folder(path) if path.is_dir() else _scan_csv(path)
    if not src.paths:
        raise DataError(f"dataset {path} holds no images", "add images or fix data.uri")
    if len(src.keys) < 2:
        raise DataError(
            f"dataset {path} has only {len(src.keys)} class ({', '.join(src.keys)}); "
            "classification needs at least 2",
            "add more classes (one folder or label per class)",
        )
    total = len(src.keys)
    keep = min(total, cfg.max_classes or total)
    names = src.readable
    origin = f"from {path}"
    if cfg.classnames is not None:
        if len(cfg.classnames) not in (total, keep):
            counts = f"{total}" if keep == total else f"{total} (or {keep} with data.max_classes)"
            raise DataError(
                f"data.classnames has {len(cfg.classnames)} names but the dataset has "
                f"{counts} classes: {', '.join(src.keys[:keep])}",
                "give one readable name per class, in that order",
            )
        _check_positions(cfg.classnames, src)
        names, origin = list(cfg.classnames), "data.classnames"
    names = [n.strip() for n in names[:keep]]
    _check_classnames(names, origin)
    pairs = [(p, y) for p, y in zip(src.paths, src.labels, strict=True) if y < keep]
    described = src.description or default_description(names)
    if src.about:
        described = f"{src.about} {described}"
    return Dataset(
        name=cfg.name or src.name or path.name,
        description=cfg.description or described,
        classnames=names,
        paths=[p for p, _ in pairs],
        labels=[y for _, y in pairs],
        ds_temp_set=src.ds_temp_set,
    )
