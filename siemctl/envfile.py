"""Create .env from .env.example with a strong random value for every placeholder secret."""

import os
import secrets
from pathlib import Path

from common.placeholders import is_placeholder

ROOT = Path(__file__).resolve().parent.parent
SECRET_SUFFIXES = ("_PASSWORD", "_TOKEN")


def render(example: str) -> str:
    """Copy the example line by line, replacing placeholder secrets with 32 random URL-safe characters."""
    lines = []
    for line in example.splitlines():
        name, eq, value = line.partition("=")
        secret = eq and not line.lstrip().startswith("#") and name.strip().endswith(SECRET_SUFFIXES)
        lines.append(f"{name}={secrets.token_urlsafe(24)}" if secret and is_placeholder(value) else line)
    return "\n".join(lines) + "\n"


def create(target: Path = ROOT / ".env", example: Path = ROOT / ".env.example") -> bool:
    """Write target (readable by its owner only) unless it exists; True if it was written."""
    if target.exists():
        return False
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(render(example.read_text()))
    return True
