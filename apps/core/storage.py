"""The static files storage of production: WhiteNoise's hashed, compressed files."""

import os

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Files under ``graphiql/`` keep their bytes: the page pins each with an integrity hash,
    so the references inside them (their source-map comments) are not rewritten."""

    verbatim_prefixes = ("graphiql/",)

    def url_converter(self, name, hashed_files, template=None):
        if name.replace(os.sep, "/").startswith(self.verbatim_prefixes):
            return lambda match: match["matched"]
        return super().url_converter(name, hashed_files, template)
