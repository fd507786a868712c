"""Typed errors of the core. Messages name the problem, never the data."""

from __future__ import annotations


class IdCardOcrError(Exception):
    """Base of every error the library raises on purpose."""

    code = "error"


class ImageError(IdCardOcrError):
    """The input is not a usable image."""

    code = "image_error"


class UndecodableImage(ImageError):
    code = "undecodable"


class ImageTooSmall(ImageError):
    code = "too_small"


class ImageTooLarge(ImageError):
    code = "too_large"


class DecompressionBomb(ImageTooLarge):
    code = "decompression_bomb"
