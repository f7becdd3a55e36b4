"""The AS/RS buffer: containers stored while their truck is not at its door."""
