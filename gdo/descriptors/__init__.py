"""The six GDO descriptors plus goal relevance, and the sharded describe runner."""
