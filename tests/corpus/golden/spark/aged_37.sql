WITH `population` AS (
  SELECT
    `customer`.`id` AS `__key`,
    `customer`.`birth_date` AS `a1_birth_date`
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
  `a1_birth_date` >= CAST('1987-07-02' AS DATE)
  AND `a1_birth_date` <= CAST('1988-07-01' AS DATE)
