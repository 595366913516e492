"""Conversions between domain values and the protobuf wire types."""
