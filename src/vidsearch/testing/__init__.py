"""Helpers that build test material offline: synthetic videos and tiny random models.

They ship with the package so anyone can try the whole pipeline without downloads.
"""
