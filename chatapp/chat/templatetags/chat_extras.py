from django import template

register = template.Library()


@register.filter
def epoch_ms(value) -> int:
    """A datetime as milliseconds since the epoch, for the live timers in chat.js."""
    return int(value.timestamp() * 1000)


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
