"""Labelled dress images: a synthetic generator, and the preprocessing every image goes through.

The generator draws a standing figure in a dress and knows the truth it drew. Length is where
the hem falls on the body, so it is measured against the figure, not the frame:

| label | hem, as a fraction of the figure's height from the top of the head |
|-------|------|
| mini  | 0.50-0.56 (mid-thigh) |
| knee  | 0.66-0.72 |
| midi  | 0.78-0.85 (mid-calf) |
| maxi  | 0.91-0.96 (ankle) |

Colors come from a fixed palette (`COLORS`), shaded and jittered per image. Each image varies
figure size and position, tilt, arm and leg pose, skirt flare, skin tone, background (a
muted gradient with clutter) and pixel noise.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

LENGTHS = ("mini", "knee", "midi", "maxi")
HEM_RANGES = ((0.50, 0.56), (0.66, 0.72), (0.78, 0.85), (0.91, 0.96))
COLORS = {
    "black": (30, 30, 34),
    "white": (238, 238, 232),
    "red": (200, 28, 40),
    "green": (36, 140, 64),
    "blue": (38, 70, 190),
    "yellow": (238, 200, 36),
    "pink": (242, 140, 182),
    "purple": (118, 48, 150),
}
COLOR_NAMES = tuple(COLORS)
SKIN_TONES = ((255, 219, 172), (241, 194, 125), (224, 172, 105), (198, 134, 66), (141, 85, 36))
SUPERSAMPLE = 2


def _figure_layer(canvas: int, length: int, color: int, rng: np.random.Generator) -> Image.Image:
    """The figure in its dress on a transparent layer, upright and centred."""
    layer = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    h = canvas * 0.98
    top = canvas * 0.01
    cx = canvas / 2
    skin = tuple(
        int(c)
        for c in np.clip(np.array(SKIN_TONES[rng.integers(5)]) + rng.normal(0, 8, 3), 0, 255)
    )
    shade = rng.uniform(0.8, 1.15)
    base = np.array(COLORS[COLOR_NAMES[color]], dtype=float)
    dress = tuple(int(c) for c in np.clip(base * shade + rng.normal(0, 10, 3), 0, 255))

    def y(frac: float) -> float:
        return top + frac * h

    # Legs and feet, drawn first so the skirt covers them.
    spread = rng.uniform(0.0, 0.05) * h
    for side in (-1, 1):
        hip = (cx + side * 0.04 * h, y(0.46))
        ankle = (cx + side * (0.045 * h + spread), y(0.955))
        draw.line([hip, ankle], fill=skin, width=max(2, int(0.05 * h)))
        foot = (ankle[0] + side * 0.015 * h, y(0.975))
        draw.ellipse(
            [foot[0] - 0.04 * h, foot[1] - 0.018 * h, foot[0] + 0.04 * h, foot[1] + 0.018 * h],
            fill=(40, 30, 30),
        )
    # Arms hang or swing out.
    for side in (-1, 1):
        shoulder = (cx + side * 0.11 * h, y(0.16))
        angle = np.deg2rad(rng.uniform(5, 40))
        hand = (
            shoulder[0] + side * np.sin(angle) * 0.3 * h,
            shoulder[1] + np.cos(angle) * 0.3 * h,
        )
        draw.line([shoulder, hand], fill=skin, width=max(2, int(0.035 * h)))
    # Head and neck.
    draw.rectangle([cx - 0.02 * h, y(0.10), cx + 0.02 * h, y(0.15)], fill=skin)
    draw.ellipse([cx - 0.055 * h, y(0.0), cx + 0.055 * h, y(0.115)], fill=skin)
    # The dress: bodice to the waist, then a skirt that flares down to the hem.
    low, high = HEM_RANGES[length]
    hem = rng.uniform(low, high)
    waist = rng.uniform(0.34, 0.38)
    flare = rng.uniform(0.15, 0.4)
    hem_half = 0.075 * h + flare * (hem - waist) * h
    draw.polygon(
        [
            (cx - 0.12 * h, y(0.15)),
            (cx + 0.12 * h, y(0.15)),
            (cx + 0.075 * h, y(waist)),
            (cx + hem_half, y(hem)),
            (cx - hem_half, y(hem)),
            (cx - 0.075 * h, y(waist)),
        ],
        fill=dress,
    )
    return layer


def _background(canvas: int, rng: np.random.Generator) -> Image.Image:
    """A muted two-colour gradient with a few random shapes: a room, a street, a studio."""
    gray = rng.uniform(60, 220)
    a, b = (np.clip(gray + rng.normal(0, 35, 3), 0, 255) for _ in range(2))
    ramp = np.linspace(0, 1, canvas)[:, None, None]
    pixels = (a * (1 - ramp) + b * ramp) * np.ones((canvas, canvas, 3))
    image = Image.fromarray(pixels.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(rng.integers(0, 6)):
        x0, y0 = rng.uniform(0, canvas, 2)
        w, hh = rng.uniform(0.05, 0.4, 2) * canvas
        tone = tuple(int(c) for c in np.clip(gray + rng.normal(0, 45, 3), 0, 255))
        draw.rectangle([x0, y0, x0 + w, y0 + hh], fill=tone)
    return image


def render_dress(length: int, color: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """One image (size x size x 3, float32 in [0, 1]) of a dress with the given labels."""
    canvas = size * SUPERSAMPLE
    figure = _figure_layer(canvas, length, color, rng)
    figure = figure.rotate(rng.uniform(-8, 8), resample=Image.Resampling.BILINEAR)
    scale = rng.uniform(0.62, 0.95)
    side = max(8, int(canvas * scale))
    figure = figure.resize((side, side), Image.Resampling.BILINEAR)
    image = _background(canvas, rng)
    x = int(rng.uniform(0, canvas - side + 1))
    y = int(rng.uniform(0, canvas - side + 1))
    image.paste(figure, (x, y), figure)
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 2.0)))
    image = image.resize((size, size), Image.Resampling.BOX)
    pixels = np.asarray(image, dtype=np.float32) / 255.0
    noise = rng.normal(0, rng.uniform(0, 0.05), pixels.shape).astype(np.float32)
    return np.clip(pixels + noise, 0.0, 1.0)


def make_dataset(n: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """*n* synthetic images (float32, NHWC, [0, 1]) with length and color labels (int64).

    Labels cycle through every (length, color) pair before being shuffled, so classes are
    balanced for any *n* that is a multiple of 32.
    """
    if n < 1 or size < 16:
        raise ValueError("need n >= 1 and size >= 16")
    rng = np.random.default_rng(seed)
    pairs = np.array([(i, j) for i in range(len(LENGTHS)) for j in range(len(COLORS))])
    labels = pairs[np.arange(n) % len(pairs)]
    labels = labels[rng.permutation(n)]
    images = np.stack([render_dress(int(li), int(ci), size, rng) for li, ci in labels])
    return images, labels[:, 0].astype(np.int64), labels[:, 1].astype(np.int64)


def make_outliers(n: int, size: int, seed: int) -> np.ndarray:
    """*n* images with no dress in them: empty scenes, pixel noise, and colored blobs.

    The models learn to spread their probabilities over these (see `model.train`), which is
    what lets the page say "not sure" for a picture that is not a dress.
    """
    rng = np.random.default_rng(seed)
    images = []
    for i in range(n):
        kind = i % 3
        if kind == 0:  # a scene without a figure
            scene = _background(size * SUPERSAMPLE, rng).resize((size, size), Image.Resampling.BOX)
            pixels = np.asarray(scene, dtype=np.float32) / 255.0
        elif kind == 1:  # noise, coarse or fine
            # finer than the model's input too: a bigger noise picture squashed the way
            # `prepare_image` squashes an upload (blurred towards grey), as the page sees it
            cells = int(rng.integers(2, 3 * size + 1))
            resample = Image.Resampling.NEAREST if cells <= size else Image.Resampling.BILINEAR
            coarse = rng.random((cells, cells, 3)).astype(np.float32)
            grid = Image.fromarray((coarse * 255).astype(np.uint8), "RGB")
            pixels = np.asarray(grid.resize((size, size), resample), np.float32) / 255.0
        else:  # blobs in dress colors on a scene, none shaped like a figure
            scene = _background(size, rng)
            draw = ImageDraw.Draw(scene)
            for _ in range(int(rng.integers(1, 5))):
                color = COLORS[COLOR_NAMES[int(rng.integers(len(COLORS)))]]
                x0, y0 = rng.uniform(0, size, 2)
                w, h = rng.uniform(0.1, 0.6, 2) * size
                shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
                shape([x0, y0, x0 + w, y0 + h], fill=color)
            pixels = np.asarray(scene, dtype=np.float32) / 255.0
        images.append(pixels)
    return np.stack(images).astype(np.float32)


def prepare_image(image: bytes | Image.Image, size: int) -> np.ndarray:
    """Any photo as the models see it: RGB, squashed to size x size, float32 in [0, 1].

    Raises ValueError for data that is not an image Pillow can decode.
    """
    if isinstance(image, bytes):
        try:
            with Image.open(io.BytesIO(image)) as opened:
                opened.load()
                picture = opened.copy()
        except (OSError, SyntaxError, Image.DecompressionBombError) as error:
            raise ValueError("the data is not an image that can be decoded") from error
    else:
        picture = image
    rgb = picture.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(rgb, dtype=np.float32) / 255.0


def to_png(pixels: np.ndarray) -> bytes:
    """An image array (HxWx3, [0, 1]) as PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray((np.clip(pixels, 0, 1) * 255).round().astype(np.uint8), "RGB").save(
        buffer, format="PNG"
    )
    return buffer.getvalue()


LABELS_CSV = "labels.csv"


def write_labelled_images(
    images: np.ndarray, lengths: np.ndarray, colors: np.ndarray, directory
) -> None:
    """Store images as PNG files with a ``labels.csv`` (image,length,color by name).

    The layout `read_labelled_images` reads: how a real image set is laid out in S3.
    """
    import csv
    from pathlib import Path

    root = Path(directory)
    (root / "images").mkdir(parents=True, exist_ok=True)
    with open(root / LABELS_CSV, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["image", "length", "color"])
        for i, (pixels, length, color) in enumerate(zip(images, lengths, colors, strict=True)):
            name = f"images/{i:05d}.png"
            (root / name).write_bytes(to_png(pixels))
            writer.writerow([name, LENGTHS[int(length)], COLOR_NAMES[int(color)]])


def read_labelled_images(directory, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images listed in ``labels.csv`` (columns image, length, color), prepared for the models.

    Label names must be those of `LENGTHS` and `COLORS`; a row with an unknown name or an
    unreadable image is an error that names the row, since a silently dropped class would
    skew the models.
    """
    import csv
    from pathlib import Path

    root = Path(directory)
    images, lengths, colors = [], [], []
    with open(root / LABELS_CSV, newline="", encoding="utf-8") as src:
        for line, row in enumerate(csv.DictReader(src), start=2):
            length, color = row["length"].strip().lower(), row["color"].strip().lower()
            if length not in LENGTHS or color not in COLORS:
                raise ValueError(f"{LABELS_CSV} line {line}: unknown label {length!r}/{color!r}")
            try:
                images.append(prepare_image((root / row["image"]).read_bytes(), size))
            except (OSError, ValueError) as error:
                raise ValueError(f"{LABELS_CSV} line {line}: {error}") from error
            lengths.append(LENGTHS.index(length))
            colors.append(COLOR_NAMES.index(color))
    if not images:
        raise ValueError(f"{root / LABELS_CSV} lists no images")
    return np.stack(images), np.array(lengths, dtype=np.int64), np.array(colors, dtype=np.int64)


def split(arrays: tuple[np.ndarray, ...], test_fraction: float, seed: int):
    """Shuffle aligned arrays and cut them into (train arrays, test arrays)."""
    n = len(arrays[0])
    order = np.random.default_rng(seed).permutation(n)
    cut = n - max(1, round(n * test_fraction))
    if cut < 1:
        raise ValueError(f"{n} images are too few to hold {test_fraction:.0%} out")
    return tuple(a[order[:cut]] for a in arrays), tuple(a[order[cut:]] for a in arrays)


def save_arrays(path, images: np.ndarray, lengths: np.ndarray, colors: np.ndarray) -> None:
    """One .npz file with 8-bit images (a quarter of float32's size) and labels."""
    pixels = (np.clip(images, 0, 1) * 255).round().astype(np.uint8)
    with open(path, "wb") as out:
        np.savez_compressed(out, images=pixels, lengths=lengths, colors=colors)


def load_arrays(path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What `save_arrays` wrote, images back as float32 in [0, 1]."""
    with np.load(path) as stored:
        images = stored["images"].astype(np.float32) / 255.0
        return images, stored["lengths"], stored["colors"]


def main(argv: list[str] | None = None) -> int:
    """Write one generated picture: a dress of the given length and color, or pixel noise.

    python -m dress_classification.data maxi red dress.png
    python -m dress_classification.data noise noise.png
    """
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m dress_classification.data")
    parser.add_argument("length", choices=(*LENGTHS, "noise"), help="a length, or noise")
    parser.add_argument("rest", nargs="+", metavar="[COLOR] PATH")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    if args.length == "noise":
        if len(args.rest) != 1:
            parser.error("noise takes only a PATH")
        pixels = rng.random((args.size, args.size, 3))
    else:
        if len(args.rest) != 2 or args.rest[0] not in COLORS:
            parser.error(f"give a COLOR ({', '.join(COLOR_NAMES)}) and a PATH")
        color = COLOR_NAMES.index(args.rest[0])
        pixels = render_dress(LENGTHS.index(args.length), color, args.size, rng)
    path = Path(args.rest[-1])
    path.write_bytes(to_png(pixels))
    print(f"wrote {path.resolve()}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
