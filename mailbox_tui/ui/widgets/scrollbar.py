"""Scrollbars that cost few bytes over SSH.

Textual draws a horizontal scrollbar as one segment per cell, and its terminal writer sends each
segment with its own colour codes: a 44-cell bar was 1,100 bytes, rewritten on every layout. The
same bar as runs of equal cells is a few dozen bytes and looks the same."""

from __future__ import annotations

from rich.segment import Segment, Segments
from textual.scrollbar import ScrollBar, ScrollBarRender


class CompactScrollBarRender(ScrollBarRender):
    @classmethod
    def render_bar(cls, *args, **kwargs) -> Segments:
        bar = super().render_bar(*args, **kwargs)
        if bar.new_lines:  # vertical: one segment per line already
            return bar
        return Segments(list(Segment.simplify(bar.segments)), new_lines=False)


def use_compact_scrollbars() -> None:
    ScrollBar.renderer = CompactScrollBarRender
