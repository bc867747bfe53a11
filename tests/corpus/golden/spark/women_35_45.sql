WITH `population` AS (
  SELECT
    `customer`.`id` AS `__key`,
    `customer`.`gender` AS `a1_gender`,
    `customer`.`birth_date` AS `a2_birth_date`
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
  `a1_gender` = 'female'
  AND `a2_birth_date` <= CAST('1990-07-01' AS DATE)
  AND `a2_birth_date` >= CAST('1979-07-02' AS DATE)
