"""Exercise checks, one module per lesson (``lesson01``, ...).

Every check takes the learner's answer; given ``None`` it says "not attempted
yet", a wrong answer gets a hint, a right one a confirmation (see ``core``).
"""
from . import core, lesson01

__all__ = ["core", "lesson01"]
