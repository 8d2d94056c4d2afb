"""Visual helpers: overlays, confusion colours, histograms and reports.

Each module is imported on its own (``from seglab.viz.confusion import confusion_overlay``);
this package imports nothing so that heavy plotting libraries load only when needed.
"""
