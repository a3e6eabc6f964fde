"""Photo ingestion: content-based type checks, limits before decoding, metadata stripped from the
display copy, capture time and GPS read from EXIF, server-chosen storage names.

Every image is made here with Pillow; no binary fixture is committed."""

from __future__ import annotations

import hashlib
import io
import random
import re
import struct
import zlib
from datetime import UTC, date, datetime

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageCms, ImageFile, ImageOps
from PIL.TiffImagePlugin import IFDRational

from chengguan.cases import photos
from chengguan.cases.photos import HEIC_SUPPORTED, IngestedPhoto, PhotoError, ingest_photo, store_photo

needs_heic = pytest.mark.skipif(not HEIC_SUPPORTED, reason="pillow-heif not installed")
PIL_NAME = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "HEIC": "HEIF"}
FORMATS = ["JPEG", "PNG", "WEBP", pytest.param("HEIC", marks=needs_heic)]

# 31°14'24.45"N 121°28'3"E (the Bund, Shanghai)
LAT = 31 + 14 / 60 + 24.45 / 3600
LON = 121 + 28 / 60 + 3 / 3600


@pytest.fixture(autouse=True)
def _restore_pillow_limit(monkeypatch):
    """ingest_photo sets Pillow's global MAX_IMAGE_PIXELS from settings; undo it after each test."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)


# --- making images ----------------------------------------------------------------------------------


def R(value) -> IFDRational:
    return IFDRational(value) if not isinstance(value, IFDRational) else value


def make_exif(
    *,
    gps: dict | None = None,
    taken: str | None = None,
    offset: str | None = None,
    orientation: int | None = None,
) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0131] = "PhoneCam 1.0"  # Software: any IFD0 tag, so an output with EXIF would show it
    if orientation is not None:
        exif[0x0112] = orientation
    if gps is not None:
        exif[0x8825] = gps
    if taken is not None:
        exif_ifd = {0x9003: taken}
        if offset is not None:
            exif_ifd[0x9011] = offset
        exif[0x8769] = exif_ifd
    return exif


def bund_gps(changes: dict | None = None) -> dict:
    gps = {
        1: "N",
        2: (R(31), R(14), IFDRational(2445, 100)),
        3: "E",
        4: (R(121), R(28), R(3)),
    }
    gps.update(changes or {})
    return {k: v for k, v in gps.items() if v is not None}


def encode(img: Image.Image, fmt: str = "JPEG", **params) -> bytes:
    out = io.BytesIO()
    if fmt in ("JPEG", "HEIC") and img.mode not in ("RGB", "L", "CMYK"):
        img = img.convert("RGB")
    if "exif" in params and isinstance(params["exif"], Image.Exif):
        params["exif"] = params["exif"].tobytes()
    img.save(out, PIL_NAME.get(fmt, fmt), **params)
    return out.getvalue()


def solid(size=(64, 48), color=(200, 30, 30), mode="RGB") -> Image.Image:
    return Image.new(mode, size, color)


def noise(size=(160, 120), seed=1) -> Image.Image:
    return Image.frombytes("RGB", size, random.Random(seed).randbytes(size[0] * size[1] * 3))


def png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR declares a huge image: a classic decompression bomb header."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 4096))
        + png_chunk(b"IEND", b"")
    )


def jpeg_declaring(width: int, height: int) -> bytes:
    """A small real JPEG with its SOF0 header patched to declare width × height."""
    data = bytearray(encode(solid((16, 16)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


# --- reading results --------------------------------------------------------------------------------


def jpeg_markers(data: bytes) -> list[int]:
    """The JPEG's segment markers up to the start of scan."""
    assert data[:2] == b"\xff\xd8"
    markers, i = [], 2
    while i < len(data):
        assert data[i] == 0xFF
        marker = data[i + 1]
        markers.append(marker)
        if marker == 0xDA:
            break
        i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return markers


def assert_clean_jpeg(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    assert img.format == "JPEG"
    assert img.mode == "RGB"
    assert not img.getexif()
    assert not img.getexif().get_ifd(0x8825)
    for key in ("exif", "icc_profile", "comment", "xmp", "XML:com.adobe.xmp"):
        assert key not in img.info
    markers = jpeg_markers(data)
    metadata = [m for m in markers if 0xE0 <= m <= 0xEF or m == 0xFE]
    assert metadata in ([], [0xE0])  # at most the JFIF APP0 header: no EXIF/XMP, ICC, Adobe or comment
    img.load()
    return img


def near(pixel, expected, tolerance=12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


# --- formats ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_is_accepted_and_reencoded_without_metadata(fmt):
    exif = make_exif(gps=bund_gps(), taken="2025:03:01 10:00:00")
    data = encode(solid(), fmt, exif=exif)
    photo = ingest_photo(data, filename=f"photo.{fmt.lower()}")

    assert isinstance(photo, IngestedPhoto)
    assert photo.original_format == fmt
    assert (photo.width, photo.height) == (64, 48)
    img = assert_clean_jpeg(photo.display)
    assert img.size == (64, 48)
    assert near(img.getpixel((32, 24)), (200, 30, 30), tolerance=20)
    assert_clean_jpeg(photo.thumbnail)
    # the metadata is read before it is dropped
    assert photo.gps == pytest.approx((LON, LAT), abs=1e-6)
    assert photo.taken_at == datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
    assert photo.size == len(data)
    assert photo.sha256 == hashlib.sha256(data).hexdigest()


@needs_heic
def test_heic_from_an_iphone_like_file_is_accepted():
    data = encode(noise((96, 64)), "HEIC", quality=60)
    assert data[4:12] == b"ftypheic"
    photo = ingest_photo(data, filename="IMG_0001.HEIC")
    assert photo.original_format == "HEIC"
    assert (photo.width, photo.height) == (96, 64)
    assert_clean_jpeg(photo.display)


def test_png_renamed_jpg_is_detected_as_png():
    photo = ingest_photo(encode(solid(), "PNG"), filename="x.jpg")
    assert photo.original_format == "PNG"


def test_jpeg_renamed_png_is_detected_as_jpeg():
    assert ingest_photo(encode(solid(), "JPEG"), filename="x.png").original_format == "JPEG"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"hello, this is not a photo\n" * 10, id="text"),
        pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', id="svg"),
        pytest.param(b"<!DOCTYPE html><html><script>alert(1)</script></html>", id="html"),
        pytest.param(encode(solid(), "GIF"), id="gif"),
        pytest.param(encode(solid(), "BMP"), id="bmp"),
        pytest.param(encode(solid(), "TIFF"), id="tiff"),
        pytest.param(b"%PDF-1.7\n" + b"0" * 100, id="pdf"),
        pytest.param(b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 64, id="avif"),
    ],
)
def test_anything_else_is_refused_as_bad_type_whatever_its_name(data):
    with pytest.raises(PhotoError) as err:
        ingest_photo(data, filename="x.jpg")
    assert err.value.code == "photo_bad_type"
    assert "JPEG" in err.value.message and " · " in err.value.message


def test_empty_upload_is_refused():
    with pytest.raises(PhotoError) as err:
        ingest_photo(b"", filename="x.jpg")
    assert err.value.code == "photo_empty"


def test_photo_error_is_a_value_error_with_code_and_message():
    with pytest.raises(ValueError) as err:
        ingest_photo(b"not an image")
    assert isinstance(err.value, PhotoError)
    assert str(err.value) == err.value.message


# --- size and pixel limits ----------------------------------------------------------------------------


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if Pillow is asked to open (or decode) anything."""

    def refuse(*args, **kwargs):
        raise AssertionError("Pillow was called")

    monkeypatch.setattr(photos.Image, "open", refuse)
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


def test_ten_megabytes_plus_one_byte_is_refused_before_decoding(no_decoding):
    data = b"\xff\xd8\xff\xe0" + b"\x00" * (10 * 1024 * 1024 + 1 - 4)
    assert len(data) == 10 * 1024 * 1024 + 1
    with pytest.raises(PhotoError) as err:
        ingest_photo(data, filename="big.jpg")
    assert err.value.code == "photo_too_large"
    assert "10 MB" in err.value.message


def test_exactly_ten_megabytes_passes_the_size_check():
    # a valid JPEG padded with trailing bytes to exactly the limit: accepted (decoders ignore the tail)
    jpeg = encode(solid(), "JPEG")
    data = jpeg + b"\x00" * (10 * 1024 * 1024 - len(jpeg))
    assert ingest_photo(data).size == 10 * 1024 * 1024


def test_size_limit_is_a_setting(settings):
    data = encode(solid(), "JPEG")
    settings.PHOTO_MAX_BYTES = len(data)
    assert ingest_photo(data).size == len(data)
    settings.PHOTO_MAX_BYTES = len(data) - 1
    with pytest.raises(PhotoError) as err:
        ingest_photo(data)
    assert err.value.code == "photo_too_large"


class CountingStream(io.RawIOBase):
    """An endless stream of JPEG-looking bytes that counts what it gives out."""

    def __init__(self):
        self.given = 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = len(buffer)
        buffer[:n] = (b"\xff\xd8\xff" + b"\x00" * n)[:n] if self.given == 0 else b"\x00" * n
        self.given += n
        return n


def test_a_stream_is_not_read_past_the_limit(settings, no_decoding):
    settings.PHOTO_MAX_BYTES = 5 * 1024 * 1024
    stream = CountingStream()
    with pytest.raises(PhotoError) as err:
        ingest_photo(stream)
    assert err.value.code == "photo_too_large"
    assert stream.given == 5 * 1024 * 1024 + 1


def test_uploaded_files_and_streams_are_accepted():
    data = encode(solid(), "PNG")
    upload = SimpleUploadedFile("照片.png", data, content_type="text/plain")  # the MIME type is ignored
    upload.read(10)  # a caller peeked already: ingestion reads from the start
    assert ingest_photo(upload, filename=upload.name).sha256 == ingest_photo(io.BytesIO(data)).sha256


def test_an_upload_declaring_a_size_over_the_limit_is_refused_unread(settings, no_decoding):
    settings.PHOTO_MAX_BYTES = 1000
    upload = SimpleUploadedFile("big.jpg", b"\xff\xd8\xff" + b"\x00" * 2000, content_type="image/jpeg")
    upload.file = None  # any read would fail: the declared size alone must refuse it
    with pytest.raises(PhotoError) as err:
        ingest_photo(upload)
    assert err.value.code == "photo_too_large"


def test_decompression_bomb_png_header_is_refused(monkeypatch):
    loads = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: loads.append(self))
    data = png_declaring(20000, 20000)
    assert len(data) < 200
    with pytest.raises(PhotoError) as err:
        ingest_photo(data, filename="bomb.png")
    assert err.value.code == "photo_too_many_pixels"
    assert "40,000,000" in err.value.message
    assert loads == []


def test_jpeg_declaring_a_huge_size_is_refused_before_decoding(monkeypatch):
    loads = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: loads.append(self))
    with pytest.raises(PhotoError) as err:
        ingest_photo(jpeg_declaring(30000, 30000))
    assert err.value.code == "photo_too_many_pixels"
    assert loads == []


@pytest.mark.parametrize(
    "size",
    [
        pytest.param((120, 100), id="between-1x-and-2x-the-limit (Pillow only warns)"),
        pytest.param((300, 300), id="over-2x-the-limit (Pillow raises)"),
    ],
)
@pytest.mark.parametrize("fmt", FORMATS)
def test_pixel_limit_is_a_setting_and_checked_before_decoding(settings, monkeypatch, size, fmt):
    settings.PHOTO_MAX_PIXELS = 10_000
    data = encode(solid(size), fmt)
    loads = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: loads.append(self))
    with pytest.raises(PhotoError) as err:
        ingest_photo(data)
    assert err.value.code == "photo_too_many_pixels"
    assert "10,000" in err.value.message
    assert loads == []


def test_an_image_at_the_pixel_limit_is_accepted(settings):
    settings.PHOTO_MAX_PIXELS = 10_000
    assert ingest_photo(encode(solid((100, 100)), "PNG")).width == 100


# --- damaged files ------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_truncated_file_is_refused_as_corrupt(fmt):
    data = encode(noise(), fmt)
    with pytest.raises(PhotoError) as err:
        ingest_photo(data[: len(data) // 2], filename="cut.jpg")
    assert err.value.code == "photo_corrupt"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\xff\xd8\xff" + b"\x00" * 500, id="jpeg-magic-then-zeros"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"garbage" * 50, id="png-magic-then-garbage"),
        pytest.param(b"RIFF\x00\x01\x00\x00WEBPVP8 " + b"\x00" * 80, id="webp-magic-then-zeros"),
        pytest.param(encode(solid(), "PNG").replace(b"IDAT", b"IDAU"), id="png-without-pixel-data"),
        pytest.param(png_declaring(0, 10), id="png-zero-width"),
    ],
)
def test_garbage_behind_valid_magic_is_refused_as_corrupt(data):
    with pytest.raises(PhotoError) as err:
        ingest_photo(data)
    assert err.value.code == "photo_corrupt"


def test_corrupt_jpeg_with_flipped_bytes_never_escapes_as_another_exception():
    data = bytearray(encode(noise(), "JPEG"))
    rng = random.Random(7)
    for _ in range(40):
        mutated = bytearray(data)
        for _ in range(8):
            mutated[rng.randrange(3, len(mutated))] = rng.randrange(256)
        try:
            ingest_photo(bytes(mutated))
        except PhotoError as exc:
            assert exc.code in ("photo_corrupt", "photo_too_many_pixels")


# --- EXIF: capture time and GPS ---------------------------------------------------------------------------


def test_gps_and_capture_time_are_read_from_jpeg_exif():
    exif = make_exif(gps=bund_gps(), taken="2025:03:01 10:00:00")
    photo = ingest_photo(encode(solid(), "JPEG", exif=exif))
    lon, lat = photo.gps
    assert lon == pytest.approx(121.4675, abs=1e-6)
    assert lat == pytest.approx(31.240125, abs=1e-6)
    # no offset in the EXIF: the photo was taken on Shanghai time (UTC+8)
    assert photo.taken_at == datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
    assert photo.taken_at.tzinfo is not None


def test_capture_time_with_an_offset_uses_it():
    exif = make_exif(taken="2025:03:01 10:00:00", offset="-05:00")
    assert ingest_photo(encode(solid(), "JPEG", exif=exif)).taken_at == datetime(2025, 3, 1, 15, tzinfo=UTC)


def test_southern_and_western_hemispheres_are_negative():
    gps = bund_gps({1: "S", 3: "W"})
    assert ingest_photo(encode(solid(), "JPEG", exif=make_exif(gps=gps))).gps == pytest.approx(
        (-LON, -LAT), abs=1e-6
    )


def test_degrees_written_as_one_decimal_rational_are_read():
    gps = bund_gps({2: (IFDRational(312401250, 10_000_000),), 4: (IFDRational(1214675, 10_000),)})
    photo = ingest_photo(encode(solid(), "JPEG", exif=make_exif(gps=gps)))
    assert photo.gps == pytest.approx((121.4675, 31.240125), abs=1e-6)


def test_photo_without_exif_has_no_time_or_position():
    photo = ingest_photo(encode(solid(), "JPEG"))
    assert photo.taken_at is None
    assert photo.gps is None


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({2: (IFDRational(1, 0), R(14), R(3))}, id="zero-denominator"),
        pytest.param({2: (R(95), R(0), R(0))}, id="latitude-over-90"),
        pytest.param({4: (R(181), R(0), R(0))}, id="longitude-over-180"),
        pytest.param({2: (R(31), R(75), R(0))}, id="minutes-over-60"),
        pytest.param({2: (R(31), R(14), R(3), R(4))}, id="four-parts"),
        pytest.param({1: None}, id="no-latitude-ref"),
        pytest.param({3: "X"}, id="bad-longitude-ref"),
        pytest.param({4: None}, id="no-longitude"),
        pytest.param({9: "V"}, id="status-void"),
        pytest.param({2: (R(0), R(0), R(0)), 4: (R(0), R(0), R(0))}, id="null-island"),
    ],
)
def test_malformed_gps_gives_no_position_but_the_photo_is_accepted(changes):
    photo = ingest_photo(encode(solid(), "JPEG", exif=make_exif(gps=bund_gps(changes))))
    assert photo.gps is None
    assert_clean_jpeg(photo.display)


def raw_gps_exif(entries: list[tuple[int, int, int, bytes]], *, gps_pointer: int = 26) -> bytes:
    """EXIF bytes written by hand (little-endian TIFF), for malformations Pillow will not write:
    IFD0 holds only the GPS pointer; the GPS IFD holds `entries` as (tag, type, count, value)."""
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x8825, 4, 1, gps_pointer) + struct.pack("<I", 0)
    data_offset = 26 + 2 + 12 * len(entries) + 4
    body, data = b"", b""
    for tag, kind, count, value in entries:
        if len(value) <= 4:
            body += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\x00")
        else:
            body += struct.pack("<HHII", tag, kind, count, data_offset + len(data))
            data += value
    gps = struct.pack("<H", len(entries)) + body + struct.pack("<I", 0)
    return b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + ifd0 + gps + data


def rationals(*values: tuple[int, int]) -> bytes:
    return b"".join(struct.pack("<II", n, d) for n, d in values)


GOOD_LON = (4, 5, 3, rationals((121, 1), (28, 1), (3, 1)))


@pytest.mark.parametrize(
    "exif",
    [
        pytest.param(
            raw_gps_exif([(1, 2, 2, b"N\x00"), (2, 2, 6, b"31.24\x00"), (3, 2, 2, b"E\x00"), GOOD_LON]),
            id="latitude-as-text",
        ),
        pytest.param(
            raw_gps_exif([(1, 2, 2, b"N\x00"), (2, 5, 3, b"\xff" * 4), (3, 2, 2, b"E\x00"), GOOD_LON]),
            id="latitude-pointing-outside",
        ),
        pytest.param(
            raw_gps_exif([(1, 2, 2, b"N\x00"), (3, 2, 2, b"E\x00"), GOOD_LON], gps_pointer=99_999),
            id="gps-ifd-outside",
        ),
        pytest.param(
            raw_gps_exif([(1, 3, 1, b"\x01\x00"), (2, 5, 3, rationals((31, 1), (14, 1), (3, 1))), GOOD_LON]),
            id="latitude-ref-as-number",
        ),
    ],
)
def test_hand_made_broken_gps_ifd_gives_no_position(exif):
    photo = ingest_photo(encode(solid(), "JPEG", exif=exif))
    assert photo.gps is None
    assert_clean_jpeg(photo.display)


def test_hand_made_gps_ifd_is_read():
    exif = raw_gps_exif(
        [
            (1, 2, 2, b"N\x00"),
            (2, 5, 3, rationals((31, 1), (14, 1), (2445, 100))),
            (3, 2, 2, b"E\x00"),
            GOOD_LON,
        ]
    )
    assert ingest_photo(encode(solid(), "JPEG", exif=exif)).gps == pytest.approx((LON, LAT), abs=1e-6)


@pytest.mark.parametrize("taken", ["not a date", "0000:00:00 00:00:00", "2025:13:45 99:00:00", ""])
def test_malformed_capture_time_gives_none(taken):
    exif = make_exif(taken=taken, gps=bund_gps())
    photo = ingest_photo(encode(solid(), "JPEG", exif=exif))
    assert photo.taken_at is None
    assert photo.gps is not None


def test_malformed_exif_block_is_ignored_and_stripped():
    data = encode(solid(), "JPEG", exif=b"Exif\x00\x00II*\x00\xff\xff\xff\x7f" + b"\xab" * 40)
    photo = ingest_photo(data)
    assert photo.gps is None and photo.taken_at is None
    assert_clean_jpeg(photo.display)


@needs_heic
def test_heic_exif_gps_and_time_are_read():
    exif = make_exif(gps=bund_gps(), taken="2024:12:31 23:30:00", offset="+08:00")
    photo = ingest_photo(encode(solid(), "HEIC", exif=exif))
    assert photo.gps == pytest.approx((LON, LAT), abs=1e-6)
    assert photo.taken_at == datetime(2024, 12, 31, 15, 30, tzinfo=UTC)


def test_comment_xmp_and_icc_profile_are_not_carried_over():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><exif:GPSLatitude>31,14N</exif:GPSLatitude></x:xmpmeta>'
    data = encode(solid(), "JPEG", comment=b"secret", icc_profile=srgb, xmp=xmp)
    photo = ingest_photo(data)
    assert b"secret" not in photo.display and b"xmpmeta" not in photo.display
    img = assert_clean_jpeg(photo.display)
    assert near(img.getpixel((10, 10)), (200, 30, 30), tolerance=20)


def test_a_broken_icc_profile_is_ignored():
    photo = ingest_photo(encode(solid(), "JPEG", icc_profile=b"not a profile" * 20))
    assert near(assert_clean_jpeg(photo.display).getpixel((10, 10)), (200, 30, 30), tolerance=20)


def test_repr_leaves_out_the_image_bytes_and_the_position():
    photo = ingest_photo(encode(solid(), "JPEG", exif=make_exif(gps=bund_gps())))
    text = repr(photo)
    assert "gps" not in text and "121.46" not in text and "display" not in text
    assert "sha256" in text


# --- orientation, frames, modes, sizes ------------------------------------------------------------------


def left_red_right_blue(size=(200, 100)) -> Image.Image:
    img = Image.new("RGB", size, (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    return img


def test_orientation_6_is_applied():
    data = encode(left_red_right_blue(), "JPEG", exif=make_exif(orientation=6))
    photo = ingest_photo(data)
    assert (photo.width, photo.height) == (100, 200)
    img = assert_clean_jpeg(photo.display)
    assert img.size == (100, 200)
    # rotated 90° clockwise: the stored left (red) half is now on top
    assert near(img.getpixel((50, 30)), (255, 0, 0), tolerance=30)
    assert near(img.getpixel((50, 170)), (0, 0, 255), tolerance=30)
    thumb = Image.open(io.BytesIO(photo.thumbnail))
    assert thumb.size == (100, 200)


def quadrants(size=(60, 40)) -> Image.Image:
    img = Image.new("RGB", size, (255, 255, 255))
    w, h = size
    img.paste((255, 0, 0), (0, 0, w // 2, h // 2))
    img.paste((0, 160, 0), (w // 2, 0, w, h // 2))
    img.paste((0, 0, 255), (0, h // 2, w // 2, h))
    return img


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_matches_pillows_exif_transpose(orientation):
    source = quadrants()
    data = encode(source, "PNG", exif=make_exif(orientation=orientation))
    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
    img = assert_clean_jpeg(ingest_photo(data).display)
    assert img.size == expected.size
    w, h = img.size
    for x, y in [(w // 4, h // 4), (3 * w // 4, h // 4), (w // 4, 3 * h // 4), (3 * w // 4, 3 * h // 4)]:
        assert near(img.getpixel((x, y)), expected.getpixel((x, y)), tolerance=30), (orientation, x, y)


def test_out_of_range_orientation_is_ignored():
    photo = ingest_photo(encode(left_red_right_blue(), "JPEG", exif=make_exif(orientation=42)))
    assert (photo.width, photo.height) == (200, 100)


@needs_heic
def test_heic_orientation_is_applied_once():
    data = encode(left_red_right_blue(), "HEIC", exif=make_exif(orientation=6))
    img = assert_clean_jpeg(ingest_photo(data).display)
    assert img.size == (100, 200)
    assert near(img.getpixel((50, 30)), (255, 0, 0), tolerance=40)
    assert near(img.getpixel((50, 170)), (0, 0, 255), tolerance=40)


def test_orientation_3_is_applied():
    photo = ingest_photo(encode(left_red_right_blue(), "JPEG", exif=make_exif(orientation=3)))
    img = assert_clean_jpeg(photo.display)
    assert img.size == (200, 100)
    assert near(img.getpixel((30, 50)), (0, 0, 255), tolerance=30)


@pytest.mark.parametrize("fmt", ["WEBP", "PNG"])
def test_animated_image_keeps_the_first_frame_only(fmt):
    frames = [solid((40, 30), c) for c in [(255, 0, 0), (0, 255, 0), (0, 0, 255)]]
    params = {"save_all": True, "append_images": frames[1:], "duration": 100}
    if fmt == "WEBP":
        params["lossless"] = True
    data = encode(frames[0], fmt, **params)
    assert Image.open(io.BytesIO(data)).n_frames == 3
    photo = ingest_photo(data)
    img = assert_clean_jpeg(photo.display)
    assert getattr(img, "n_frames", 1) == 1
    assert near(img.getpixel((20, 15)), (255, 0, 0), tolerance=20)


def test_cmyk_jpeg_becomes_rgb_with_the_right_colour():
    data = encode(solid(color=(0, 255, 255, 0), mode="CMYK"), "JPEG")
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    img = assert_clean_jpeg(ingest_photo(data).display)
    assert near(img.getpixel((32, 24)), (255, 0, 0), tolerance=20)


def test_palette_png_with_transparency_is_flattened_on_white():
    img = Image.new("P", (40, 20), 0)
    img.putpalette([0, 0, 0, 255, 0, 0])
    img.paste(1, (20, 0, 40, 20))
    data = encode(img, "PNG", transparency=0)
    out = assert_clean_jpeg(ingest_photo(data).display)
    assert near(out.getpixel((5, 10)), (255, 255, 255))  # transparent black → white, not black
    assert near(out.getpixel((35, 10)), (255, 0, 0), tolerance=20)


@pytest.mark.parametrize(
    ("mode", "color"),
    [("LA", (0, 0)), ("RGBA", (255, 0, 0, 0))],
)
def test_transparent_pixels_become_white(mode, color):
    data = encode(solid((32, 32), color, mode=mode), "PNG")
    out = assert_clean_jpeg(ingest_photo(data).display)
    assert near(out.getpixel((16, 16)), (255, 255, 255))


def test_half_transparent_webp_is_blended_on_white():
    data = encode(solid((32, 32), (255, 0, 0, 128), mode="RGBA"), "WEBP", lossless=True)
    out = assert_clean_jpeg(ingest_photo(data).display)
    assert near(out.getpixel((16, 16)), (255, 127, 127), tolerance=15)


@pytest.mark.parametrize(("mode", "value", "expected"), [("L", 90, 90), ("1", 1, 255), ("I;16", 32768, 128)])
def test_grey_and_16_bit_modes_keep_their_brightness(mode, value, expected):
    out = assert_clean_jpeg(ingest_photo(encode(solid((32, 32), value, mode=mode), "PNG")).display)
    assert near(out.getpixel((16, 16)), (expected,) * 3, tolerance=3)


def test_longest_side_is_capped_at_2560_by_default():
    photo = ingest_photo(encode(solid((3000, 2000)), "JPEG"))
    assert (photo.width, photo.height) == (2560, 1707)
    assert Image.open(io.BytesIO(photo.display)).size == (2560, 1707)
    assert Image.open(io.BytesIO(photo.thumbnail)).size == (320, 213)


def test_longest_side_is_a_setting_and_large_jpegs_decode_reduced(settings):
    settings.PHOTO_MAX_SIDE = 100
    photo = ingest_photo(encode(noise((900, 600)), "JPEG"))
    assert (photo.width, photo.height) == (100, 67)
    assert Image.open(io.BytesIO(photo.thumbnail)).size == (100, 67)


def test_small_images_are_not_enlarged():
    photo = ingest_photo(encode(solid((100, 50)), "PNG"))
    assert (photo.width, photo.height) == (100, 50)
    assert Image.open(io.BytesIO(photo.thumbnail)).size == (100, 50)


def test_thumbnail_longest_side_is_320():
    photo = ingest_photo(encode(solid((1000, 500)), "WEBP"))
    assert (photo.width, photo.height) == (1000, 500)
    assert assert_clean_jpeg(photo.thumbnail).size == (320, 160)


# --- storing ------------------------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = str(tmp_path)
    monkeypatch.setattr(photos.dj_timezone, "localdate", lambda *a, **k: date(2026, 2, 3))
    return tmp_path


def test_store_photo_writes_both_files_under_server_chosen_names(media):
    client_name = "../../etc/passwd 张三 home.jpg"
    photo = ingest_photo(encode(solid(), "JPEG"), filename=client_name)
    display_name, thumb_name = store_photo(photo)

    match = re.fullmatch(r"cases/2026/02/([0-9a-f]{32})\.jpg", display_name)
    assert match, display_name
    assert thumb_name == f"cases/2026/02/{match[1]}_t.jpg"
    assert (media / display_name).read_bytes() == photo.display
    assert (media / thumb_name).read_bytes() == photo.thumbnail
    for part in ("passwd", "etc", "..", "张三", "home"):
        assert part not in display_name and part not in thumb_name


def test_store_photo_names_are_unique_and_folder_is_used(media):
    photo = ingest_photo(encode(solid(), "PNG"))
    first = store_photo(photo, folder="cases/after")
    second = store_photo(photo, folder="cases/after")
    assert first[0].startswith("cases/after/2026/02/")
    assert first != second
    assert len(list(media.rglob("*.jpg"))) == 4


@pytest.mark.parametrize("folder", ["../outside", "/abs", "cases/../x", "", "Cases", "a//b"])
def test_store_photo_refuses_a_strange_folder(media, folder):
    photo = ingest_photo(encode(solid(), "JPEG"))
    with pytest.raises(ValueError):
        store_photo(photo, folder=folder)
    assert list(media.rglob("*")) == []


def test_store_photo_leaves_nothing_behind_when_the_thumbnail_fails(media, monkeypatch):
    class ThumbnailFails(FileSystemStorage):
        def save(self, name, content, max_length=None):
            if name.endswith("_t.jpg"):
                raise OSError("disk full")
            return super().save(name, content, max_length)

    monkeypatch.setattr(photos, "default_storage", ThumbnailFails(location=media))
    photo = ingest_photo(encode(solid(), "JPEG"))
    with pytest.raises(OSError):
        store_photo(photo)
    assert [p for p in media.rglob("*") if p.is_file()] == []
