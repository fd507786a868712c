"""idcard-ocr: read the Chinese resident ID card from an image, offline.

    >>> import idcard_ocr
    >>> reading = idcard_ocr.read("card.jpg")
    >>> reading.side, reading.value("number")
"""

from .errors import IdCardOcrError, ImageError
from .model import Card, Checks, Field, Reading
from .pipeline import read

__all__ = ["Card", "Checks", "Field", "IdCardOcrError", "ImageError", "Reading", "read"]
__version__ = "0.1.0"
