"""Request and response models of the REST API, one module per resource.

Every field has a description and an example, so ``/docs`` is useful on its own; answers
(:class:`~nextbuy.serving.schemas.common.ResponseSchema`) forbid fields they do not declare.
The request options live in :mod:`nextbuy.serving.options`.
"""
