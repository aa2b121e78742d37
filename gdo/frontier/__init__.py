"""The accuracy-vs-samples frontier: peak match, reduction, CIs, plots, report."""
