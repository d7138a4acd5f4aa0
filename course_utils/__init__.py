"""course_utils: the helper package of the course "Inception, from 1x1 to Xception".

One module per job:

* ``costs``      - parameters, MACs/FLOPs (analytic and counted), receptive fields, latency (lesson 01 on)
* ``models``     - the Inception family with a common API (lessons 02-08)
* ``runtime``    - seeding and device selection (every lesson)
* ``explorers``  - pure functions behind the interactive widgets
* ``widgets``    - the ipywidgets front ends of those functions
* ``exercises``  - checks for the exercises, one module per lesson
"""
__version__ = "0.1.0"
