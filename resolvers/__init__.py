"""How a field gets its data: entity registry, filter/order/page compiler, batching loaders."""
