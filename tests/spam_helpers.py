"""Crafted spam and ham for the spam filter tests."""

from __future__ import annotations

SPAMMY = """From: Best Deals <deals@cheap-pills.example>
To: bob@ourcorp.com
Subject: CHEAP VIAGRA!!! Limited offer
Content-Type: text/html

<html><body><font color=red>BUY NOW</font> cheap pills, viagra, no prescription needed.
<a href="http://198.51.100.7/buy">Order today</a> and save 90% on your order!</body></html>
"""
HAMMY = """From: Alice <alice@example.com>
To: bob@ourcorp.com
Subject: Minutes of the build meeting
Content-Type: text/plain

Hi Bob, attached are the minutes. We agreed to move the release branch
to Thursday and to fix the flaky integration test first. Cheers, Alice
"""


def variants(template: str, n: int) -> list[str]:
    """``n`` distinct copies of a message (numbered subjects and Message-IDs)."""
    return [template.replace("Subject: ", f"Subject: {i} ").replace("Content-Type", f"Message-ID: <{i}@x>\nContent-Type") for i in range(n)]
