"""Education vertical: students (leads with a school profile) and their counsellors."""
