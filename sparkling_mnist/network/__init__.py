"""A deep-learning network as numbers: the core that training, features, scoring, the
out-of-distribution detectors and export share.

Modules: `spec` (the frozen NetworkSpec, saved as one `.npz`), `h2o_reader` (read a spec
from a trained H2O model or its MOJO), `forward` (score a spec with numpy: expand the
inputs, the layers, probabilities, encodings, reconstruction errors), `encoder_chain`
(the autoencoders' encoders chained in numpy, as H2O's `deepfeatures`).
"""
