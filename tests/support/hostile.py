"""A `.seg` file whose names, description, owner, tags, comment and strings are HTML and
script: what the catalogue (`seg docs`) must show as text, never run."""

from __future__ import annotations

from segdsl.syntax.printer import string_text

NAME = '<img src=x onerror="alert(1)">'
DESCRIPTION = "</title><script>alert('d')</script> \"quoted\" & more"
OWNER = "<b>o'wner</b>"
TAG = "<i>t</i>"

SOURCE = f"""segdsl 1

# <script>alert("comment")</script>
segment `{NAME}` {string_text(DESCRIPTION)} owner {string_text(OWNER)}
  tags [{string_text(TAG)}, "email"] =
  high_income and city = "<script>alert(2)</script>"

segment uses_hostile = `{NAME}` and loyal
"""
