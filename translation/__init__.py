"""Machine translation for chat: argos models run offline, batched, cached and checked.

Modules, one idea each (none imports `server`; heavy libraries load on first use):

- `pairs`     language codes and `LanguagePair`
- `errors`    the exception tree (`TranslationError` and below)
- `engine`    the `TranslationEngine` interface, placeholder contract, English pivot
- `packages`  argos package folders: read, check, install from file, list, remove
- `index`     install from the Argos package index (online, with progress)
- `segments`  sentence and placeholder splitting without any model
- `argos`     `ArgosEngine`: CTranslate2 + SentencePiece over installed packages
- `batcher`   `Batcher`: concurrent requests -> one `translate_batch` in a thread
- `cache`     `MemoryCache` (LRU) and `RedisCache` (TTL) keyed by model version
- `glossary`  a tenant's kept and fixed terms
- `protect`   URLs, emails, order/tracking numbers, prices, emoji, code: protected
- `detect`    `LanguageDetector` for short lines among candidate languages
- `service`   `TranslationService` composing all of it; `TranslationResult`, `Flag`
- `testing`   tiny (or Transformer-base sized) real packages built on the spot
"""
