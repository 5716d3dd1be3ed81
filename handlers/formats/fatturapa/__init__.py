"""FatturaPA 1.2.3 invoice codec: typed model, reader, writer, validation, attachments."""
