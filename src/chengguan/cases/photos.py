"""Photo ingestion for the case loop: photos of a problem before and after handling, uploaded
by inspectors on phones and by the public.

An upload is untrusted bytes. It is accepted only when its content (magic bytes, then Pillow's
actual decode restricted to that one format) is a JPEG, PNG, WebP or HEIC/HEIF image; the client's
file name and MIME type are never consulted. Limits are checked in the cheapest order: byte size
before anything is decoded, pixel count from the header before the pixels are decoded.

What is kept for display is a fresh JPEG: first frame only, EXIF orientation applied, colours
converted to sRGB, transparency flattened on white, longest side capped, and no metadata at all
(no EXIF, GPS, XMP, ICC or comment). The capture time and GPS position are read from the EXIF
and handed back separately; the GPS position is personal information and the caller keeps it
private.

Settings (read with defaults, none required):
    PHOTO_MAX_BYTES   largest upload in bytes (10 MB)
    PHOTO_MAX_PIXELS  largest width × height (40,000,000), also Pillow's MAX_IMAGE_PIXELS
    PHOTO_MAX_SIDE    longest side of the display copy (2560)

Error codes of `PhotoError`: photo_empty, photo_too_large, photo_bad_type, photo_heic_unsupported,
photo_too_many_pixels, photo_corrupt.
"""

from __future__ import annotations

import hashlib
import io
import math
import numbers
import re
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone as dj_timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageCms

try:  # HEIC/HEIF (iPhone photos) through libheif; without it HEIC is refused with a clear message
    import pillow_heif

    pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
    HEIC_SUPPORTED = True
except ImportError:  # pragma: no cover - pillow-heif is a declared dependency
    HEIC_SUPPORTED = False

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_SIDE = 2560
THUMBNAIL_SIDE = 320
DISPLAY_QUALITY = 85
THUMBNAIL_QUALITY = 80

SHANGHAI = ZoneInfo("Asia/Shanghai")

# our name for the format → the one Pillow plugin allowed to decode it
_PIL_FORMATS = {"JPEG": ("JPEG",), "PNG": ("PNG",), "WEBP": ("WEBP",), "HEIC": ("HEIF",)}
_HEVC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_HEIF_BRANDS = _HEVC_BRANDS | {b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}

_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_DATETIME_ORIGINAL = 0x9003
_OFFSET_TIME_ORIGINAL = 0x9011
_GPS_STATUS = 9
_FOLDER = re.compile(r"^[a-z0-9_-]+(/[a-z0-9_-]+)*$")


@dataclass(frozen=True)
class IngestedPhoto:
    """A photo that passed every check, ready to store. `display` and `thumbnail` are JPEG bytes
    without any metadata; `gps` is personal information (left out of repr so it stays out of logs)."""

    display: bytes = field(repr=False)
    thumbnail: bytes = field(repr=False)
    width: int  # of `display`
    height: int
    original_format: str  # "JPEG" | "PNG" | "WEBP" | "HEIC"
    sha256: str  # hex digest of the original upload bytes
    size: int  # bytes of the original upload
    taken_at: datetime | None  # EXIF DateTimeOriginal, aware (UTC)
    gps: tuple[float, float] | None = field(repr=False)  # (lon, lat) WGS-84 as the camera wrote it


class PhotoError(ValueError):
    """An upload refused; `code` is stable for programs, `message` is for people (中文 · English)."""

    def __init__(self, code: str, message: str):
        self.code = code
        self.message = message
        super().__init__(message)


# --- limits ---------------------------------------------------------------------------------------


def _max_bytes() -> int:
    return int(getattr(settings, "PHOTO_MAX_BYTES", DEFAULT_MAX_BYTES))


def _max_pixels() -> int:
    return int(getattr(settings, "PHOTO_MAX_PIXELS", DEFAULT_MAX_PIXELS))


def _max_side() -> int:
    return int(getattr(settings, "PHOTO_MAX_SIDE", DEFAULT_MAX_SIDE))


def _megabytes(n: int) -> str:
    mb = n / (1024 * 1024)
    return f"{mb:.0f} MB" if mb == int(mb) else f"{mb:.1f} MB"


def _too_large(limit: int, size: int | None = None) -> PhotoError:
    if size is None:
        message = _("照片过大：不能超过 {limit} · photo too large: at most {limit}").format(
            limit=_megabytes(limit)
        )
    else:
        message = _(
            "照片过大：不能超过 {limit}（本文件 {size}） · photo too large: at most {limit} (this file is {size})"
        ).format(limit=_megabytes(limit), size=_megabytes(size))
    return PhotoError("photo_too_large", message)


def _too_many_pixels(limit: int, size: tuple[int, int] | None = None) -> PhotoError:
    if size is None:
        message = _(
            "照片像素过多：不能超过 {limit:,} 像素 · too many pixels: at most {limit:,} pixels"
        ).format(limit=limit)
    else:
        message = _(
            "照片像素过多：不能超过 {limit:,} 像素（本图 {w}×{h}） · "
            "too many pixels: at most {limit:,} pixels (this image is {w}×{h})"
        ).format(limit=limit, w=size[0], h=size[1])
    return PhotoError("photo_too_many_pixels", message)


def _bad_type() -> PhotoError:
    if HEIC_SUPPORTED:
        message = _(
            "不支持的文件类型：只接受 JPEG、PNG、WebP、HEIC 照片 · "
            "unsupported file type: only JPEG, PNG, WebP and HEIC photos are accepted"
        )
    else:  # pragma: no cover
        message = _(
            "不支持的文件类型：只接受 JPEG、PNG、WebP 照片 · "
            "unsupported file type: only JPEG, PNG and WebP photos are accepted"
        )
    return PhotoError("photo_bad_type", message)


def _corrupt() -> PhotoError:
    return PhotoError(
        "photo_corrupt",
        _("照片文件已损坏或不完整，无法读取 · the photo file is damaged or incomplete and cannot be read"),
    )


# --- reading the upload ---------------------------------------------------------------------------


def _read_limited(data, limit: int) -> bytes:
    """The upload's bytes, refusing anything over `limit` without reading more than limit + 1."""
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if len(raw) > limit:
            raise _too_large(limit, len(raw))
        return raw
    declared = getattr(data, "size", None)  # Django's UploadedFile knows its size before any read
    if isinstance(declared, int) and declared > limit:
        raise _too_large(limit, declared)
    try:
        if getattr(data, "seekable", lambda: False)():
            data.seek(0)
    except (OSError, ValueError):
        pass
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = data.read(min(1024 * 1024, limit + 1 - total))
        if not chunk:
            break
        chunks.append(bytes(chunk))
        total += len(chunk)
    if total > limit:
        raise _too_large(limit)
    return b"".join(chunks)


def sniff_format(raw: bytes) -> str | None:
    """The format by magic bytes: "JPEG", "PNG", "WEBP", "HEIC", or None."""
    if raw[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if raw[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "WEBP"
    if raw[4:8] == b"ftyp":
        box = int.from_bytes(raw[:4], "big")
        end = min(box if 16 <= box <= 4096 else 16, len(raw))
        brands = {raw[8:12]} | {raw[i : i + 4] for i in range(16, end - 3, 4)}
        if brands & _HEVC_BRANDS or (brands & _HEIF_BRANDS and not brands & _AVIF_BRANDS):
            return "HEIC"
    return None


# --- metadata -------------------------------------------------------------------------------------


def _text(value) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "ignore")
    return str(value).strip().strip("\x00").strip()


def _taken_at(exif: Image.Exif) -> datetime | None:
    """EXIF DateTimeOriginal as an aware UTC datetime; Asia/Shanghai when the photo has no offset."""
    try:
        ifd = exif.get_ifd(_EXIF_IFD)
        stamp = _text(ifd.get(_DATETIME_ORIGINAL, ""))
        if not stamp:
            return None
        naive = datetime.strptime(stamp[:19], "%Y:%m:%d %H:%M:%S")
        offset = _text(ifd.get(_OFFSET_TIME_ORIGINAL, ""))
        match = re.fullmatch(r"([+-])(\d{2}):(\d{2})", offset)
        if match:
            sign = 1 if match[1] == "+" else -1
            delta = timedelta(hours=int(match[2]), minutes=int(match[3]))
            if delta > timedelta(hours=14):
                return None
            aware = naive.replace(tzinfo=timezone(sign * delta))
        else:
            aware = naive.replace(tzinfo=SHANGHAI)
        return aware.astimezone(UTC)
    except Exception:  # malformed EXIF is the camera's problem, not the upload's
        return None


def _degrees(value) -> float | None:
    parts = value if isinstance(value, tuple | list) else (value,)
    if not 1 <= len(parts) <= 3 or not all(isinstance(p, numbers.Real) for p in parts):
        return None  # rationals (or numbers), never text
    values = [float(p) for p in parts]
    if not all(math.isfinite(n) and n >= 0 for n in values):
        return None
    if any(n >= 60 for n in values[1:]):
        return None
    return sum(n / 60**i for i, n in enumerate(values))


def _gps(exif: Image.Exif) -> tuple[float, float] | None:
    """EXIF GPS as (lon, lat) decimal degrees; None when absent, void, or malformed in any way."""
    try:
        ifd = exif.get_ifd(_GPS_IFD)
        if not ifd or _text(ifd.get(_GPS_STATUS, "A")).upper() == "V":
            return None
        lat_ref = _text(ifd.get(1, "")).upper()
        lon_ref = _text(ifd.get(3, "")).upper()
        if lat_ref not in ("N", "S") or lon_ref not in ("E", "W"):
            return None
        lat = _degrees(ifd[2])
        lon = _degrees(ifd[4])
        if lat is None or lon is None or lat > 90 or lon > 180 or (lat == 0 and lon == 0):
            return None
        lat = -lat if lat_ref == "S" else lat
        lon = -lon if lon_ref == "W" else lon
        return (round(lon, 7), round(lat, 7))
    except Exception:
        return None


# --- pixels ---------------------------------------------------------------------------------------


_TRANSPOSE = {  # EXIF Orientation → the transposition that makes the pixels upright
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _orientation(exif: Image.Exif) -> int:
    try:
        value = exif.get(0x0112, 1)
        return value if isinstance(value, int) and value in _TRANSPOSE else 1
    except Exception:
        return 1


def _resizable(img: Image.Image) -> Image.Image:
    """Modes that cannot be resampled well (palette, 1-bit, 16-bit, float) → 8-bit equivalents."""
    if img.mode == "P":
        return img.convert("RGBA")
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        return img.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if img.mode in ("1", "F"):
        return img.convert("L")
    if img.mode == "PA":
        return img.convert("RGBA")
    if img.mode not in ("RGB", "RGBA", "L", "LA", "CMYK"):
        return img.convert("RGB")
    return img


def _fit(img: Image.Image, side: int) -> Image.Image:
    """Shrink (never enlarge) so the longest side is at most `side`, keeping the aspect ratio."""
    width, height = img.size
    if max(width, height) <= side:
        return img
    scale = side / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _to_srgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    """RGB in sRGB (through the embedded ICC profile when there is a usable one), transparency
    flattened on white."""
    if img.mode in ("RGBA", "LA"):
        rgba = img.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flat.alpha_composite(rgba)
        img = flat.convert("RGB")
    if icc and img.mode in ("RGB", "CMYK", "L"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            converted = ImageCms.profileToProfile(
                img, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
            )
            if converted is not None:
                return converted
        except Exception:  # a broken or mismatched profile: fall back to a plain conversion
            pass
    return img if img.mode == "RGB" else img.convert("RGB")


def _jpeg(img: Image.Image, quality: int) -> bytes:
    img.info = {}  # Pillow copies a comment (and more, in some versions) from info: write nothing
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


def _open(raw: bytes, kind: str, max_pixels: int) -> Image.Image:
    """Open with the one plugin the magic bytes named and check the declared size; decode nothing."""
    img = Image.open(io.BytesIO(raw), formats=_PIL_FORMATS[kind])
    width, height = img.size
    if width < 1 or height < 1:
        raise _corrupt()
    if width * height > max_pixels:
        raise _too_many_pixels(max_pixels, img.size)
    return img


def ingest_photo(data, *, filename: str = "") -> IngestedPhoto:
    """Check and re-encode one uploaded photo; raise `PhotoError` for anything not acceptable.

    `data` is bytes or a file-like object (a Django UploadedFile included). `filename` is the
    client's name, accepted for the caller's convenience and deliberately ignored: the type comes
    from the content, and stored names are chosen by the server.
    """
    del filename
    raw = _read_limited(data, _max_bytes())
    if not raw:
        raise PhotoError("photo_empty", _("照片文件为空 · the photo file is empty"))
    kind = sniff_format(raw)
    if kind is None:
        raise _bad_type()
    if kind == "HEIC" and not HEIC_SUPPORTED:  # pragma: no cover
        raise PhotoError(
            "photo_heic_unsupported",
            _(
                "本系统不支持 HEIC 照片，请上传 JPEG（iPhone：设置 › 相机 › 格式 › 兼容性最佳） · "
                "HEIC photos are not supported here; upload JPEG (iPhone: Settings › Camera › "
                "Formats › Most Compatible)"
            ),
        )
    max_pixels, side = _max_pixels(), _max_side()
    Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow raises above 2× this at open; _open refuses above 1×
    img = None
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")  # "Corrupt EXIF data"
        try:
            img = _open(raw, kind, max_pixels)
            if img.format in ("JPEG", "MPO"):
                img.draft(None, (side, side))  # decode at 1/2, 1/4 or 1/8 scale when that is enough
            img.load()  # frame 0 of an animation: the only one used
            try:
                exif = img.getexif()
            except Exception:
                exif = Image.Exif()
            taken_at = _taken_at(exif)
            gps = _gps(exif)
            # shrink first (the box is square, so before or after turning is the same), then turn
            # upright, then convert colours: every step after the decode works on the small image
            shrunk = _fit(_resizable(img), side)
            orientation = _orientation(exif)
            if orientation != 1:
                shrunk = shrunk.transpose(_TRANSPOSE[orientation])
            rgb = _to_srgb(shrunk, img.info.get("icc_profile"))
            width, height = rgb.size
            display = _jpeg(rgb, DISPLAY_QUALITY)
            thumbnail = _jpeg(_fit(rgb, THUMBNAIL_SIDE), THUMBNAIL_QUALITY)
        except PhotoError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels(max_pixels) from None
        except Exception:  # truncated data, bad chunks, decoder errors: whatever Pillow raises
            raise _corrupt() from None
        finally:
            if img is not None:
                img.close()
    return IngestedPhoto(
        display=display,
        thumbnail=thumbnail,
        width=width,
        height=height,
        original_format=kind,
        sha256=hashlib.sha256(raw).hexdigest(),
        size=len(raw),
        taken_at=taken_at,
        gps=gps,
    )


def store_photo(photo: IngestedPhoto, *, folder: str = "cases") -> tuple[str, str]:
    """Save the display copy and the thumbnail through default_storage under server-chosen names
    `{folder}/{yyyy}/{mm}/{uuid}.jpg` and `…_t.jpg`; return the two storage names. If the second
    write fails the first is removed, so nothing half-stored is left behind."""
    if not _FOLDER.fullmatch(folder):
        raise ValueError(f"bad storage folder {folder!r}")
    today = dj_timezone.localdate()
    stem = f"{folder}/{today:%Y}/{today:%m}/{uuid.uuid4().hex}"
    display_name = default_storage.save(f"{stem}.jpg", ContentFile(photo.display))
    try:
        thumb_name = default_storage.save(f"{stem}_t.jpg", ContentFile(photo.thumbnail))
    except BaseException:
        default_storage.delete(display_name)
        raise
    stored = _STORED.get()
    if stored is not None:
        stored += [display_name, thumb_name]
    return display_name, thumb_name


# --- files of a transaction that did not commit ------------------------------------------------------

# The storage names written by store_photo inside the innermost `removed_unless_committed` block.
_STORED: ContextVar[list[str] | None] = ContextVar("chengguan_stored_photos", default=None)


@contextmanager
def removed_unless_committed() -> Iterator[None]:
    """Delete again the photo files stored inside the block if the block raises.

    Files are written before the transaction that refers to them commits; when it rolls back
    instead (a concurrent retry with the same Idempotency-Key, a stale version, any error), nothing
    refers to them. Put this around the outermost `transaction.atomic()` of a service, or use it as
    a decorator above `@transaction.atomic`. Inside an enclosing block, the names are handed on
    to it on success, since the enclosing transaction may still roll back. A process killed
    between the write and the commit leaves files behind: `sweep_orphan_photos` removes those."""
    stored: list[str] = []
    token = _STORED.set(stored)
    try:
        yield
    except BaseException:
        for name in stored:
            default_storage.delete(name)
        raise
    finally:
        _STORED.reset(token)
    outer = _STORED.get()
    if outer is not None:
        outer += stored


# Storage folder → (model, fields) of the rows that refer to photo files stored there.
_PHOTO_MODELS: dict[str, tuple[type, tuple[str, ...]]] = {}
ORPHAN_GRACE = timedelta(days=1)


def register_photo_model(folder: str, model, fields: tuple[str, ...] = ("image", "thumbnail")) -> None:
    """Declare which rows refer to the files `store_photo(…, folder=folder)` writes (from the
    app's ready()), so the sweep knows what is still in use."""
    if not _FOLDER.fullmatch(folder):
        raise ValueError(f"bad storage folder {folder!r}")
    _PHOTO_MODELS[folder] = (model, tuple(fields))


def _walk(folder: str) -> Iterator[str]:
    directories, files = default_storage.listdir(folder)
    for name in files:
        yield f"{folder}/{name}"
    for sub in directories:
        yield from _walk(f"{folder}/{sub}")


def sweep_orphan_photos(*, now: datetime | None = None, grace: timedelta = ORPHAN_GRACE) -> dict[str, int]:
    """Delete photo files that no row refers to and that are older than `grace` (a file younger
    than that may belong to a transaction still open). Month folder by month folder, so memory
    stays bounded by one month's photos. Returns counts of files kept and removed."""
    now = now or dj_timezone.now()
    kept = removed = 0
    for folder, (model, fields) in sorted(_PHOTO_MODELS.items()):
        if not default_storage.exists(folder):
            continue
        months: dict[str, list[str]] = {}
        for name in _walk(folder):
            months.setdefault(name.rsplit("/", 1)[0], []).append(name)
        for month, names in sorted(months.items()):
            used: set[str] = set()
            for field_name in fields:
                used.update(
                    model.objects.filter(**{f"{field_name}__startswith": month + "/"}).values_list(
                        field_name, flat=True
                    )
                )
            for name in names:
                if name in used or now - default_storage.get_modified_time(name) < grace:
                    kept += 1
                    continue
                default_storage.delete(name)
                removed += 1
    return {"kept": kept, "removed": removed}
