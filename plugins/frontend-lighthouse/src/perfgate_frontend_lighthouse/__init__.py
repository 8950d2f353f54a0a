"""perfgate-frontend-lighthouse: page speed measured by the real Lighthouse in headless Chromium.

The engine (``engine``, ``runner``, ``browser``, ``lhr``, ``aggregate``, ``tools``) needs
nothing of perfgate; see the README for the collector, its options and its metrics.
"""
