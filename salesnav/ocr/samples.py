"""Synthetic Chinese VAT invoice images, for tests, the benchmark and the demo.

Drawn with Pillow and the WenQuanYi Micro Hei font (Debian `fonts-wqy-microhei`, installed by
`make system-deps`), in the layout of a paper 增值税专用发票, so that the offline engine is exercised on
the same kind of picture a rep takes with a phone.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")

_DIGITS = "零壹贰叁肆伍陆柒捌玖"


@dataclass(frozen=True)
class SampleInvoice:
    code: str = "144031900111"
    number: str = "08523671"
    date: date = date(2024, 3, 5)
    buyer: str = "上海市第六人民医院"
    seller: str = "杭州明远医疗器械有限公司"
    amount: Decimal = Decimal("12389.38")
    tax: Decimal = Decimal("1610.62")

    @property
    def total(self) -> Decimal:
        return self.amount + self.tax


def capital_amount(value: Decimal) -> str:
    """The 大写 amount printed on invoices (e.g. 壹万肆仟圆整), simplified to the common cases."""
    yuan = int(value)
    fen_total = int((value - yuan) * 100)
    jiao, fen = divmod(fen_total, 10)
    units = ["", "拾", "佰", "仟"]
    out = ""
    for group_index, group_unit in enumerate(["", "万", "亿"]):
        group = (yuan // (10000**group_index)) % 10000
        if not group:
            continue
        text = ""
        zero = False
        for i in range(3, -1, -1):
            d = (group // 10**i) % 10
            if d:
                if zero and text:
                    text += "零"
                text += _DIGITS[d] + units[i]
                zero = False
            else:
                zero = True
        if group < 1000 and yuan >= 10000 ** (group_index + 1):
            text = "零" + text  # 壹拾万零贰佰…: a gap inside the number is read out as 零
        out = text + group_unit + out
    out = (out or "零") + "圆"
    if not jiao and not fen:
        return out + "整"
    if jiao:
        out += _DIGITS[jiao] + "角"
    elif fen:
        out += "零"
    if fen:
        out += _DIGITS[fen] + "分"
    return out


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(CJK_FONT), size, index=0)


def draw_invoice(invoice: SampleInvoice | None = None, *, width: int = 1600) -> Image.Image:
    """The invoice as an RGB image (white paper, dark ink, a red title like the real form)."""
    inv = invoice or SampleInvoice()
    scale = width / 1600
    height = int(1000 * scale)
    image = Image.new("RGB", (width, height), (250, 250, 246))
    draw = ImageDraw.Draw(image)

    def text(x: float, y: float, value: str, size: int = 30, fill: tuple[int, int, int] = (25, 25, 25)) -> None:
        draw.text((x * scale, y * scale), value, font=_font(int(size * scale)), fill=fill)

    def line(x0: float, y0: float, x1: float, y1: float) -> None:
        draw.line((x0 * scale, y0 * scale, x1 * scale, y1 * scale), fill=(150, 90, 60), width=max(1, int(2 * scale)))

    text(520, 40, "浙江增值税专用发票", 52, (170, 40, 40))
    text(1100, 60, f"发票代码：{inv.code}")
    text(1100, 110, f"发票号码：{inv.number}")
    text(1100, 160, f"开票日期：{inv.date.year}年{inv.date.month:02d}月{inv.date.day:02d}日")
    line(60, 220, 1540, 220)
    text(80, 240, "购买方", 30, (120, 60, 40))
    text(260, 240, f"名称：{inv.buyer}")
    text(260, 290, "纳税人识别号：12310000425006117P")
    line(60, 350, 1540, 350)
    text(80, 370, "货物或应税劳务名称")
    text(640, 370, "数量")
    text(820, 370, "金额")
    text(1080, 370, "税率")
    text(1260, 370, "税额")
    text(80, 430, "*医疗器械*一次性使用吻合器")
    text(640, 430, "10")
    text(820, 430, f"{inv.amount:.2f}")
    text(1080, 430, "13%")
    text(1260, 430, f"{inv.tax:.2f}")
    text(80, 540, "合计")
    text(820, 540, f"¥{inv.amount:.2f}")
    text(1260, 540, f"¥{inv.tax:.2f}")
    line(60, 610, 1540, 610)
    text(80, 630, "价税合计（大写）")
    text(400, 630, capital_amount(inv.total))
    text(1020, 630, f"（小写）¥{inv.total:.2f}")
    line(60, 700, 1540, 700)
    text(80, 720, "销售方", 30, (120, 60, 40))
    text(260, 720, f"名称：{inv.seller}")
    text(260, 770, "纳税人识别号：91330106MA2B3C4D5E")
    text(260, 820, "地址、电话：杭州市西湖区文三路90号 0571-88886666")
    text(80, 920, "收款人：王芳    复核：李强    开票人：陈静")
    return image


def photo_like(image: Image.Image, *, rotate: int = 0, blur: float = 0.0, quality: int = 88) -> bytes:
    """JPEG bytes, optionally stored rotated with an EXIF orientation tag (as phones do) and blurred.

    `rotate` is how the camera held the picture: the pixels are stored turned by that many degrees
    and the EXIF orientation tells a viewer how to turn them back.
    """
    exif = Image.Exif()
    stored = image
    if blur:
        stored = stored.filter(ImageFilter.GaussianBlur(blur))
    if rotate:
        # EXIF orientation: 6 = rotate 90° CW to view, 8 = rotate 90° CCW to view, 3 = 180°.
        orientation = {90: 6, 180: 3, 270: 8}[rotate]
        stored = stored.rotate(rotate, expand=True)
        exif[0x0112] = orientation
    out = io.BytesIO()
    stored.save(out, "JPEG", quality=quality, exif=exif.tobytes())
    return out.getvalue()


def invoice_jpeg(invoice: SampleInvoice | None = None, **kwargs: object) -> bytes:
    return photo_like(draw_invoice(invoice), **kwargs)  # type: ignore[arg-type]  # the sample's options are the photo's keyword arguments
