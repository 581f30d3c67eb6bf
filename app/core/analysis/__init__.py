"""What labelled data says about a model: labelled CSVs and label mapping (`labeled`,
`label_mapping`), confusion matrices, metric curves and operating points at any threshold
(`thresholds`, `threshold_metrics`; weighted, for samples that stand for a batch: `weighted`), evaluation with calibration measures (`evaluation`, `calibration`), model
comparison (`compare`), workload at a prevalence and volume (`workload`), confidence intervals
(`intervals`; resampled within an audit sample's bands: `resampled`), the three-band policy (`bands`) and where a threshold study's data comes from
(`threshold_sources`).
Imports the engine, csvio and common; never scikit-learn.
"""
