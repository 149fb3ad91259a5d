"""Video front end: frames, shots, subtitles on shots, recording sync (issue 12)."""
