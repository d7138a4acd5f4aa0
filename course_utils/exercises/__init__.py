"""Exercise checks, one module per lesson: ``from course_utils.exercises import lesson01``.

Every check takes the learner's answer; given ``None`` it says "not attempted
yet", a wrong answer gets a hint, a right one a confirmation (see ``core``).
Lesson modules are imported on demand, so lesson 01 does not load lesson 07's
dependencies (Captum).
"""
