# What core/staticfiles.py subclasses (whitenoise ships no types).
from django.contrib.staticfiles.storage import ManifestStaticFilesStorage

class CompressedManifestStaticFilesStorage(ManifestStaticFilesStorage): ...
