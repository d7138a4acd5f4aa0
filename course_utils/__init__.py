"""course_utils: the helper package of the course "Inception, from 1x1 to Xception".

One module per job:

* ``models``       - the Inception family with a common API (lessons 02-08)
* ``costs``        - parameters, MACs/FLOPs (analytic and counted), receptive fields, latency (lesson 01 on)
* ``data``         - the embedded shapes dataset, the photographs, the opt-in real datasets
* ``train``        - the training loop, evaluation and learning-rate schedules
* ``checkpoints``  - saving and loading trained models (the shipped ones under data/checkpoints)
* ``experiments``  - stored experiments: train once with a script, read the result in a lesson
* ``viz``          - seeing inside: feature maps, Grad-CAM, sanity checks, filters (lesson 07)
* ``explorers``    - pure functions behind the interactive widgets, one module per widget
* ``widgets``      - the ipywidgets front ends of those functions, one module per widget
* ``exercises``    - checks for the exercises, one module per lesson
* ``runtime``      - seeding and device selection (every lesson)
* ``paths``        - where the course keeps its files (data/)
* ``network``      - the one "is the download server reachable?" probe
* ``checks``       - the shared argument checks: every bad input is answered with what was wrong, what is
  allowed and what to do, as a ``checks.CourseException`` (the value errors are also ValueErrors)
"""
__version__ = "0.1.0"
