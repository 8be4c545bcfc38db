enum _PlaceholderBerthTesting {}
