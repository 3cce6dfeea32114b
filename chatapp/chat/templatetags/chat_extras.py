from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def ms_since(value) -> int:
    """Milliseconds from ``value`` until now, for the live timers in chat.js.

    Counted here: the browser's clock may be off (an hour fast, a wrong time
    zone), and compared with the server's times it showed "60 min" at once.
    """
    return max(0, round((timezone.now() - value).total_seconds() * 1000))


@register.filter
def duration(seconds) -> str:
    if seconds is None:
        return ""
    seconds = float(seconds)
    if seconds < 1:
        return "less than a second"
    whole = round(seconds)  # once: 59.7 s is a minute, not "60 s"
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s"


@register.filter
def tokens(count) -> str:
    """1234567 → "1,234,567": token counts read more easily with separators."""
    return f"{int(count or 0):,}"
