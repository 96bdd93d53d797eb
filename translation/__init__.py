"""Machine translation: engines, batching, glossary, language detection and a cache.

Not built yet (issue 3). It must never import `server`.
"""
