"""One module per resource; ``operationId: module.function`` resolves here (RelativeResolver)."""
