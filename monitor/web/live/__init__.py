"""The bedside view: layout, panels, the trend figure and their callbacks."""
