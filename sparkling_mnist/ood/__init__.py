"""Out-of-distribution flags: an H2O isolation forest on the deep features and the
pixel autoencoders' reconstruction error, thresholded at a quantile of the training
rows' scores, judged on a mixed set of test digits and images that are not digits.

Modules: `flags` (thresholds, flags and the per-row columns `score` writes; pure),
`evaluation` (the mixed set and the detectors' AUC/AUCPR; numpy), `h2o_detectors`
(the H2O glue: the isolation forest, H2O's `anomaly`), `stage` (the `ood` stage). The
report's section is `evaluate.ood_section`; the numpy reconstruction error is
`network.forward.reconstruction_error`.
"""
