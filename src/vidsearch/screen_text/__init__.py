"""On-screen text: burned-in subtitles, signs and titles, read by OCR and merged into cues."""
