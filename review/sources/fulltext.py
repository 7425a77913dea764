"""Full texts a user adds: PDF (pypdf) or UTF-8 text."""
from __future__ import annotations

from pathlib import Path

from review.core.errors import DefinitionsError


# -- full texts --------------------------------------------------------------------------------------
def read_fulltext(path: str | Path) -> str:
    """Text of a PDF (pypdf) or plain-text file.

    Raises
    ------
    DefinitionsError
        When the file is missing, of another kind, unreadable or holds no text (a scanned PDF needs OCR first).
    """
    path = Path(path)
    if not path.is_file():
        raise DefinitionsError(f"{path}: file not found; give the path of a PDF or .txt full text")
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        import logging

        from pypdf import PdfReader

        logging.getLogger("pypdf").setLevel(logging.ERROR)  # repair notes ("EOF marker not found") are not errors
        try:
            reader = PdfReader(str(path))
            if reader.is_encrypted:
                reader.decrypt("")
            text = "\n\n".join((page.extract_text() or "") for page in reader.pages)
        except Exception as e:  # pypdf raises many kinds of errors on damaged files (LimitReachedError, …)
            raise DefinitionsError(f"{path}: cannot read this PDF ({e}); save it again as PDF or as .txt") from None
    elif suffix in (".txt", ".text", ".md", ""):
        data = path.read_bytes()
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            line = data[: e.start].count(b"\n") + 1
            raise DefinitionsError(f"{path}:{line}: not UTF-8 text (byte {e.start}); save the full text as UTF-8") \
                from None
    else:
        raise DefinitionsError(f"{path}: unsupported full-text file type {suffix!r}; use .pdf or .txt")
    if not text.strip():
        raise DefinitionsError(f"{path}: no text could be extracted (a scanned PDF?); run OCR first or add a .txt file")
    return text
