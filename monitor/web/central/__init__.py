"""The central station's page (``app``) and its overview of every bed (``overview``)."""
