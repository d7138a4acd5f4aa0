"""course_utils: the helper package of the course "Inception, from 1x1 to Xception".

One module per job (``tests/test_packaging.py`` checks this list against the package):

* ``models``             - the Inception family with a common API (lessons 02-08)
* ``costs``              - parameters, MACs/FLOPs (analytic and counted), receptive fields, latency (lesson 01 on)
* ``data``               - the embedded shapes dataset, the photographs, the opt-in real datasets
* ``train``              - the training loop, evaluation and learning-rate schedules
* ``checkpoints``        - saving and loading trained models (the shipped ones under data/checkpoints)
* ``experiments``        - stored experiments: train once with a script, read the result in a lesson
* ``viz``                - seeing inside: feature maps, Grad-CAM, sanity checks, filters (lesson 07)
* ``explorers``          - pure functions behind the interactive widgets, one module per widget
* ``widgets``            - the ipywidgets front ends of those functions, one module per widget
* ``exercises``          - checks for the exercises, one module per lesson
* ``table1``             - GoogLeNet's Table 1, as printed and as rebuilt from the model (lesson 02)
* ``ablation``           - accuracy by object size with one branch switched off (lesson 02)
* ``gradients``          - how much gradient reaches each layer, from each term of the loss (lesson 02)
* ``batchnorm``          - batch normalization from scratch, folding it into a convolution (lesson 03)
* ``calibration``        - label smoothing and calibration (lesson 04)
* ``factorization_nets`` - small plain CNNs and grid-reduction designs for lesson 04's experiments
* ``separable``          - depthwise separable convs: cost ratio, arithmetic intensity, profiler shares, lesson 06's experiment
* ``imagenet``           - ImageNet class names, top-5 on the photos, the pretrained route, Imagenette (lesson 08)
* ``family``             - the eight full-size models compared: params, MACs, latency, accuracy (lesson 08)
* ``transfer``           - transfer learning: linear probe, fine-tuning, BatchNorm frozen or updating (lesson 08)
* ``checks``             - the shared argument checks and the course's exception types
* ``runtime``            - seeding and device selection (every lesson)
* ``paths``              - where the course keeps its files (data/)
* ``network``            - the one "is the download server reachable?" probe
"""
__version__ = "0.1.0"
