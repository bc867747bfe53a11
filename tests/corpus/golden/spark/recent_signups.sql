WITH `population` AS (
  SELECT
    `customer`.`id` AS `__key`,
    CAST(FROM_UTC_TIMESTAMP(`customer`.`signed_up_at`, 'UTC') AS TIMESTAMP_NTZ) AS `a1_signed_up_at`
  FROM `customers` AS `customer`
  WHERE
    NOT `customer`.`id` IS NULL
    AND (
      `customer`.`signed_up_at` <= CAST('2025-07-01 00:00:00+00:00' AS TIMESTAMP)
      OR `customer`.`signed_up_at` IS NULL
    )
)
SELECT DISTINCT
  `__key` AS `id`
FROM `population`
WHERE
  `a1_signed_up_at` > CAST('2025-06-01 00:00:00' AS TIMESTAMP_NTZ)
  AND `a1_signed_up_at` <= CAST('2025-07-01 00:00:00' AS TIMESTAMP_NTZ)
