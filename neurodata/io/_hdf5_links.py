"""What in an HDF5 source would make a read leave the file.

HDF5 can point outside the file it is in: external links (``/a`` → ``other.h5:/b``),
virtual datasets (a mapping of other files' datasets), external raw storage (the
bytes of a dataset in a named raw file) and soft links whose targets cross one of
those.  A source file from a stranger could thus make a reader return the bytes of
any file on the machine.  :func:`external_references` lists them, so the HDF5-based
readers (NWB, MAT v7.3) refuse such files unless the user opts in.
"""

from __future__ import annotations

from typing import Any

__all__ = ["external_references", "refuse_external"]


def external_references(f: Any) -> list[str]:
    """``where: what`` for every link or dataset of ``f`` that reads another file."""
    import h5py

    found: list[str] = []

    def visit(name: str, link: Any) -> None:
        where = f"/{name}"
        if isinstance(link, h5py.ExternalLink):
            found.append(f"{where} is an external link to {link.filename!r}")
            return
        if isinstance(link, h5py.SoftLink):
            return  # followed below only if its target is a hard-linked object here
        if not isinstance(link, h5py.HardLink):
            found.append(f"{where} is a {type(link).__name__}")
            return
        obj = f.get(name)
        if isinstance(obj, h5py.Dataset):
            plist = obj.id.get_create_plist()
            if plist.get_layout() == h5py.h5d.VIRTUAL:
                files = sorted({m.file_name for m in obj.virtual_sources()})
                found.append(f"{where} is a virtual dataset over {files[:3]}")
            elif plist.get_external_count() > 0:
                files = [plist.get_external(i)[0].decode(errors="replace")
                         if isinstance(plist.get_external(i)[0], bytes)
                         else str(plist.get_external(i)[0])
                         for i in range(plist.get_external_count())]
                found.append(f"{where} stores its bytes in external file(s) {files[:3]}")

    f.visititems_links(visit)
    # a soft link is safe when its target resolves to an object inside this file: h5py
    # resolves it through the links above, all of which were checked
    return found


def refuse_external(path: Any, what: str, allow_external: bool = False) -> None:
    """Raise FormatError when the HDF5 file at ``path`` would read other files.

    Not HDF5 (a MAT v5 file, say): nothing to check.  ``allow_external=True`` skips it.
    """
    import h5py

    from ..errors import FormatError

    if allow_external or not h5py.is_hdf5(path):
        return
    with h5py.File(path, "r") as f:
        outside = external_references(f)
    if outside:
        raise FormatError(f"{what} (HDF5) file that would read outside itself: "
                          f"{'; '.join(outside[:3])}; pass allow_external=True if you trust "
                          "the files it points at", path=path)
