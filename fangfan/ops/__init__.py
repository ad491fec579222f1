"""Operations: backup and restore of the whole database (fangfan backup / fangfan restore)."""
