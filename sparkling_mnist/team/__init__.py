"""The team stage: members (`members`) trained on the features or the pixels, the
probability cube and its arithmetic (`cube`, pure numpy), the stage in phases: train,
predict, rank, record (`stage`), its evaluation (`evaluation`) and plots (`plots`).
"""
