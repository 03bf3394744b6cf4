"""The text synthetic lines say: short phrases as they appear on documents and signs, Latin and CJK."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["PhrasePicker", "latin_words"]

_LATIN_PHRASES = (
    "Invoice No. 2024-0117",
    "Date of issue: 14 March 2024",
    "Total amount due: $1,480.00",
    "Payment terms: 30 days net",
    "Dear Ms. Thompson,",
    "Yours sincerely,",
    "Please find the signed contract enclosed",
    "Account number 4471-0923-88",
    "Customer reference AB-55621",
    "Order shipped on 02/11/2023",
    "Subtotal 312.50 EUR",
    "VAT 20% included",
    "Contact billing@northwind.example",
    "Phone +44 20 7946 0958",
    "Opening hours 9:00 - 17:30",
    "No parking at any time",
    "Emergency exit only",
    "Fresh coffee and pastries",
    "Platform 4 for Cambridge",
    "The meeting moved to Thursday",
    "Quantity 12 units at 4.75 each",
    "Delivery address: 12 Harbour Road",
    "Signature of the applicant",
    "Wage statement for tax year 2023",
    "Room 305, Third Floor",
    "Receipt #88213",
    "Thank you for your purchase",
    "Valid until 31.12.2025",
    "Bank transfer to IBAN DE89 3704 0044",
    "Quote the invoice number with payment",
    "Sale: 50% off all items",
    "Welcome to Riverside Park",
    "Please keep this door closed",
    "Next train in 6 minutes",
    "Batch 7 quality report",
    "Policy number P-203941",
    "Due date 15 April 2024",
    "Kind regards, the accounts team",
    "Name, surname and date of birth",
    "Net weight 500 g, best before 09/2025",
    "Send questions to help@acme-mail.example",
    "Page 2 of 3",
)

_CJK_PHRASES = (
    "发票",
    "地址",
    "北京市",
    "欢迎光临",
    "营业时间",
    "文本图像超分辨率",
    "上海市浦东新区",
    "联系电话",
    "安全出口",
    "请勿吸烟",
    "收据",
    "金额合计",
    "开票日期",
    "会议室",
    "停车场",
    "中国银行",
    "谢谢惠顾",
    "小心地滑",
    "办公室",
    "人民医院",
    "火车站",
    "人民路一号",
    "客户服务中心",
    "电子邮件",
    "公司名称",
    "数量与单价",
    "新年快乐",
    "注意安全",
    "文字识别",
    "早上八点开门",
    "今天天气很好",
    "欢迎再次光临",
)


def latin_words(longest: int) -> tuple[str, ...]:
    """Every word of the Latin phrases up to ``longest`` characters, once each, in a fixed order: running text for columns."""
    words = {word for phrase in _LATIN_PHRASES for word in phrase.split() if len(word) <= longest}
    return tuple(sorted(words))


class PhrasePicker:
    """Draws phrases from the corpus, avoiding repeats on a page so every truth line is unambiguous."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def _pick(self, options: Sequence[str]) -> str:
        fresh = [option for option in options if option not in self._used]
        pool = fresh or list(options)
        text = pool[int(self._rng.integers(len(pool)))]
        self._used.add(text)
        return text

    def latin(self, longest: int) -> str:
        return self._pick([phrase for phrase in _LATIN_PHRASES if len(phrase) <= longest])

    def cjk(self, shortest: int, longest: int) -> str:
        return self._pick([phrase for phrase in _CJK_PHRASES if shortest <= len(phrase) <= longest])

    def long(self) -> str:
        """40-70 characters of joined phrases, so line splitting gets exercised."""
        target = int(self._rng.integers(40, 71))
        text = self.latin(70)
        while len(text) < target:
            room = 70 - len(text) - 1
            if not any(len(phrase) <= room for phrase in _LATIN_PHRASES):
                break
            text = f"{text} {self.latin(room)}"
        return text
