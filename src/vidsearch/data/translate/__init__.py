"""Translate captions: the `Translator` protocol, its backends (HTTP endpoint, local model,
dictionary) and the resumable, cached translate step."""

from vidsearch.data.translate.base import Translator
from vidsearch.data.translate.cache import Failure, TranslationCache
from vidsearch.data.translate.dictionary import DictionaryTranslator
from vidsearch.data.translate.http import HttpTranslator
from vidsearch.data.translate.local import LocalModelTranslator
from vidsearch.data.translate.runner import TranslateReport, translate_dataset

__all__ = [
    "DictionaryTranslator",
    "Failure",
    "HttpTranslator",
    "LocalModelTranslator",
    "TranslateReport",
    "TranslationCache",
    "Translator",
    "translate_dataset",
]
